// The app-type table of ARCHITECTURE.md §3, every row, both directions,
// allowed and denied — directly and through plan() (no runtime call needed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify } from '../../../src/policy/classify.js';
import { createPolicyConfig } from '../../../src/policy/config.js';
import { plan } from '../../../src/policy/decision.js';
import { DEFAULT_GATE_TABLE, gateInbound, gateOutbound, parseGateTable } from '../../../src/policy/gate.js';
import { DEFAULT_PROTOCOL_PATTERNS, PolicyConfigError } from '../../../src/policy/patterns.js';
import type { AppType, Endpoint } from '../../../src/policy/types.js';
import { agent, client, endpoint, FRESH, LLM_HOST, mcpServer, req, rpc, TRACEPARENT } from './fixtures.js';

const T = { traceparent: TRACEPARENT, authorization: 'Bearer tok' };
const samples = {
  mcp: () => req('POST', '/mcp', { headers: T, body: rpc('tools/list') }),
  a2a: () => req('POST', '/', { headers: T, body: rpc('message/send', { message: {} }) }),
  llm: () => req('POST', '/v1/chat/completions', { headers: T, host: LLM_HOST, body: '{}' }),
  other: () => req('GET', '/admin', { headers: T }),
};
type P = keyof typeof samples;
const PROTOCOLS: P[] = ['mcp', 'a2a', 'llm', 'other'];

const OUTBOUND: Record<AppType, P[]> = {
  agent: ['mcp', 'a2a', 'llm'],
  client: ['mcp', 'a2a'],
  mcp_server: [],
};
const INBOUND: Record<AppType, P[] | 'unenforced'> = {
  agent: ['a2a', 'mcp'],
  mcp_server: ['mcp'],
  client: 'unenforced',
};
const TYPES: AppType[] = ['agent', 'client', 'mcp_server'];
const of = (t: AppType): Endpoint => (t === 'agent' ? agent : t === 'client' ? client : mcpServer);

describe('gate table: outbound', () => {
  for (const type of TYPES) {
    for (const p of PROTOCOLS) {
      const ok = OUTBOUND[type].includes(p);
      it(`${type} ${ok ? 'may' : 'may not'} send ${p}`, () => {
        const c = classify(samples[p](), { llmHost: LLM_HOST }, DEFAULT_PROTOCOL_PATTERNS);
        const d = gateOutbound(DEFAULT_GATE_TABLE, type, c);
        if (ok) assert.equal(d, undefined);
        else assert.equal(d?.reason, 'protocol_violation');
      });
    }
  }
});

describe('gate table: inbound', () => {
  for (const type of TYPES) {
    for (const p of PROTOCOLS) {
      const row = INBOUND[type];
      const ok = row === 'unenforced' || row.includes(p);
      it(`${type} ${row === 'unenforced' ? 'is not enforced for' : ok ? 'accepts' : 'refuses'} ${p}`, () => {
        const c = classify(samples[p](), {}, DEFAULT_PROTOCOL_PATTERNS);
        const d = gateInbound(DEFAULT_GATE_TABLE, type, c);
        if (ok) assert.equal(d, undefined);
        else assert.equal(d?.reason, 'protocol_violation');
      });
    }
  }
});

describe('gate table through plan(): violations are denied before any runtime step', () => {
  const config = createPolicyConfig();
  for (const type of TYPES) {
    for (const p of PROTOCOLS) {
      const ok = OUTBOUND[type].includes(p);
      it(`outbound ${type} → ${p}: ${ok ? 'planned' : '403 protocol_violation'}`, () => {
        // An unmanaged destination (LLM egress, or passthrough) isolates the outbound row.
        const cfg = createPolicyConfig({ unmanagedDestination: 'passthrough' });
        const r = plan({ request: samples[p](), source: of(type), config: cfg, fresh: FRESH });
        if (ok) assert.equal(r.kind, 'plan', JSON.stringify(r));
        else {
          assert.equal(r.kind, 'deny');
          if (r.kind === 'deny') {
            assert.equal(r.reason, 'protocol_violation');
            assert.equal(r.status, 403);
          }
        }
      });
    }
  }
  for (const type of TYPES) {
    for (const p of PROTOCOLS) {
      const row = INBOUND[type];
      const ok = row === 'unenforced' || row.includes(p);
      it(`inbound ${p} → ${type}: ${ok ? 'planned' : '403 protocol_violation'}`, () => {
        const r = plan({ request: samples[p](), destination: of(type), config, fresh: FRESH });
        if (ok) assert.equal(r.kind, 'plan', JSON.stringify(r));
        else assert.equal(r.kind === 'deny' && r.reason, 'protocol_violation');
      });
    }
  }

  it('an agent may reach only its own MAS llm_host', () => {
    const other = { ...agent, llmHost: 'other-llm.example.com' };
    const r = plan({ request: samples.llm(), source: other, config, fresh: FRESH });
    assert.equal(r.kind === 'deny' && r.reason, 'protocol_violation');
  });

  it('an agent without an llm_host has no LLM egress', () => {
    const r = plan({
      request: samples.llm(),
      source: { ...agent, llmHost: undefined },
      config,
      fresh: FRESH,
    });
    assert.equal(r.kind === 'deny' && r.reason, 'protocol_violation');
  });

  it('the message names the app type and what it may do', () => {
    const r = plan({ request: samples.mcp(), source: mcpServer, config, fresh: FRESH });
    assert.ok(r.kind === 'deny' && r.message.includes('mcp_server may send: nothing'), JSON.stringify(r));
    const o = plan({ request: samples.other(), destination: endpoint('x', 'agent'), config, fresh: FRESH });
    assert.ok(o.kind === 'deny' && o.message.includes('unknown_route'), JSON.stringify(o));
  });
});

describe('parseGateTable', () => {
  it('keeps defaults for rows left out and replaces the ones given', () => {
    const t = parseGateTable({ mcp_server: { outbound: ['llm'] }, client: { inbound: ['a2a'] } });
    assert.deepEqual(t.outbound.mcp_server, ['llm']);
    assert.deepEqual(t.inbound.client, ['a2a']);
    assert.deepEqual(t.outbound.agent, DEFAULT_GATE_TABLE.outbound.agent);
    assert.equal(parseGateTable({ agent: { inbound: 'unenforced' } }).inbound.agent, 'unenforced');
  });

  it('a configured table changes the gate', () => {
    const config = createPolicyConfig({
      protocols: { appTypes: { mcp_server: { outbound: ['mcp'] } } },
      unmanagedDestination: 'passthrough',
    });
    const r = plan({ request: samples.mcp(), source: mcpServer, config, fresh: FRESH });
    assert.equal(r.kind, 'plan');
  });

  const errors: [unknown, string][] = [
    [[], 'protocols.appTypes'],
    [{ robot: {} }, 'protocols.appTypes.robot'],
    [{ agent: [] }, 'protocols.appTypes.agent'],
    [{ agent: { out: [] } }, 'protocols.appTypes.agent.out'],
    [{ agent: { outbound: 'mcp' } }, 'protocols.appTypes.agent.outbound'],
    [{ agent: { outbound: ['smtp'] } }, 'protocols.appTypes.agent.outbound[0]'],
    [{ agent: { inbound: ['llm'] } }, 'protocols.appTypes.agent.inbound[0]'],
  ];
  for (const [raw, field] of errors) {
    it(`names ${field}`, () =>
      assert.throws(
        () => parseGateTable(raw),
        (e: unknown) => e instanceof PolicyConfigError && e.field === field,
      ));
  }
});
