// The decision table of ARCHITECTURE.md §3 re-run through the Istio adapter:
// the real NodeAgent serving the sidecar ports, the reference CASA runtime,
// and CheckRequests shaped like a sidecar's. A row that is one "both" Check
// in Cilium mode is here the caller sidecar's outbound Check followed by the
// callee sidecar's inbound Check, which sees the token the first injected.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { RuntimeEndpoint } from '../../../src/agent/dev/runtime/index.js';
import { PeerMetadataCodec } from '../../../src/agent/istio/peer-metadata.js';
import type { CheckResult } from '../../support/authz-client.js';
import { a2aSend, IP, LLM_HOST, mcpCall, newTraceId, rpc, traceparent } from '../../support/casa-world.js';
import { HOST, type IstioWorld, POD, startIstioWorld } from './istio-world.js';

let w: IstioWorld;
before(async () => {
  w = await startIstioWorld();
});
after(async () => {
  await w?.stop();
});

function calls(endpoint?: RuntimeEndpoint): number {
  if (endpoint) return w.runtime.calls(endpoint);
  return w.runtime.calls() - w.runtime.calls('health');
}
beforeEach(() => w.runtime.resetCalls());

const tp = (trace: string) => ({ traceparent: traceparent(trace) });

/** What the callee's sidecar receives after the caller's sidecar allowed and mutated the request. */
function forwarded(r: CheckResult, headers: Record<string, string>): Record<string, string> {
  assert.equal(r.allowed, true, `outbound refused: ${r.body}`);
  const out = { ...headers };
  for (const k of r.headersToRemove) delete out[k];
  return { ...out, ...r.headersSet };
}

/** web → planner through both sidecars: the planner then holds a token in the trace. */
async function plannerTrace(): Promise<string> {
  const trace = newTraceId();
  const req = { path: '/', host: HOST.planner, body: JSON.stringify({ prompt: 'Plan a trip to Lisbon' }) };
  const o = await w.out('web', { ...req, headers: tp(trace) });
  const i = await w.in('web', 'planner', { ...req, headers: forwarded(o, tp(trace)) });
  assert.equal(i.allowed, true, `setup: planner inbound refused: ${i.body}`);
  return trace;
}

describe('protocol gate: violations are refused by whichever sidecar sees them, before any runtime call', () => {
  type Row = [
    string,
    'out' | 'in',
    string,
    string,
    { method?: string; path: string; host: string; body?: string },
  ];
  const rows: Row[] = [
    [
      'client → agent: GET of an API path (web outbound)',
      'out',
      'web',
      'planner',
      { method: 'GET', path: '/admin', host: HOST.planner },
    ],
    [
      'client → agent: GET of an API path (planner inbound)',
      'in',
      'web',
      'planner',
      { method: 'GET', path: '/admin', host: HOST.planner },
    ],
    [
      'agent → agent: JSON neither MCP nor A2A (outbound)',
      'out',
      'planner',
      'helper',
      { path: '/run', host: HOST.helper, body: '{"cmd":"x"}' },
    ],
    [
      'agent → agent: JSON neither MCP nor A2A (inbound)',
      'in',
      'planner',
      'helper',
      { path: '/run', host: HOST.helper, body: '{"cmd":"x"}' },
    ],
    [
      'agent → mcp_server: non-MCP path (outbound)',
      'out',
      'planner',
      'files',
      { method: 'GET', path: '/etc/passwd', host: HOST.files },
    ],
    [
      'agent → mcp_server: non-MCP path (inbound)',
      'in',
      'planner',
      'files',
      { method: 'GET', path: '/etc/passwd', host: HOST.files },
    ],
    [
      'mcp_server → agent: an MCP server makes no calls',
      'out',
      'files',
      'planner',
      { path: '/', host: HOST.planner, body: a2aSend('hi') },
    ],
    [
      'mcp_server → mcp_server: not even MCP',
      'out',
      'files',
      'files',
      { path: '/mcp', host: HOST.files, body: rpc('tools/list') },
    ],
    [
      'agent → mcp_server: A2A to an MCP server (outbound)',
      'out',
      'planner',
      'files',
      { path: '/', host: HOST.files, body: a2aSend('hi') },
    ],
    [
      'agent → mcp_server: A2A to an MCP server (inbound)',
      'in',
      'planner',
      'files',
      { path: '/', host: HOST.files, body: a2aSend('hi') },
    ],
    [
      'client → LLM host: only agents may reach the LLM',
      'out',
      'web',
      '',
      { path: '/v1/chat/completions', host: LLM_HOST, body: '{}' },
    ],
    [
      'unmanaged → mcp_server: not MCP',
      'in',
      IP.outside,
      'files',
      { method: 'GET', path: '/', host: HOST.files },
    ],
    [
      'unmanaged → mcp_server: encoded dot-segments',
      'in',
      IP.outside,
      'files',
      { path: '/mcp/%2e%2e/admin', host: HOST.files, body: rpc('tools/list') },
    ],
  ];
  for (const [name, side, from, to, req] of rows) {
    it(name, async () => {
      const r =
        side === 'out'
          ? await w.out(from as 'web', { ...req, headers: tp(newTraceId()) })
          : await w.in(from, to as 'files', { ...req, headers: tp(newTraceId()) });
      assert.equal(r.allowed, false);
      assert.equal(r.httpStatus, 403);
      assert.equal(r.reason, 'protocol_violation', r.body);
      assert.equal(calls(), 0, 'a protocol violation must not reach the runtime');
    });
  }
});

describe('a client’s first request of a trace: T1 at the caller’s sidecar, verified at the callee’s', () => {
  it('web outbound: T1 issued, exchanged for the planner, injected over the app’s own Authorization', async () => {
    const trace = newTraceId();
    const req = { path: '/', host: HOST.planner, body: JSON.stringify({ prompt: 'Plan a trip' }) };
    const headers = { ...tp(trace), authorization: 'Bearer app-own-secret' };
    const o = await w.out('web', { ...req, headers });
    assert.equal(o.allowed, true, o.body);
    assert.match(o.headersSet.authorization ?? '', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(calls('token'), 1, 'one T1');
    assert.equal(calls('token_exchange'), 1, 'one exchange');
    assert.equal(calls('introspect'), 0, 'the outbound side verifies nothing');
    w.runtime.resetCalls();
    const i = await w.in('web', 'planner', { ...req, headers: forwarded(o, headers) });
    assert.equal(i.allowed, true, i.body);
    assert.ok(i.headersToRemove.includes('authorization'), 'apps never see tokens');
    assert.equal(calls('introspect'), 1, 'the callee’s sidecar verifies the injected token');
    // The next request of the trace: the T1 and the exchange are reused, the verification cached.
    w.runtime.resetCalls();
    const o2 = await w.out('web', { ...req, headers: tp(trace) });
    const i2 = await w.in('web', 'planner', { ...req, headers: forwarded(o2, tp(trace)) });
    assert.equal(i2.allowed, true, i2.body);
    assert.equal(calls('token') + calls('token_exchange') + calls('introspect'), 0);
  });

  it('a client without traceparent starts a trace; the callee sees the one the caller’s sidecar added', async () => {
    const req = { path: '/', host: HOST.planner, body: JSON.stringify({ prompt: 'hello' }) };
    const o = await w.out('web', req);
    assert.match(o.headersSet.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const i = await w.in('web', 'planner', { ...req, headers: forwarded(o, {}) });
    assert.equal(i.allowed, true, i.body);
    assert.equal(i.headersSet.traceparent, undefined, 'no second trace is minted');
  });

  it('a client whose prompt cannot be read: missing_prompt, no T1', async () => {
    const o = await w.out('web', {
      path: '/',
      host: HOST.planner,
      headers: tp(newTraceId()),
      body: a2aSend('no prompt'),
    });
    assert.equal(o.reason, 'missing_prompt');
    assert.equal(calls('token'), 0);
  });
});

describe('an agent delegates within the trace, sidecar to sidecar', () => {
  it('agent → mcp_server tools/call: T3 with tools=[name] injected by the caller’s sidecar, verified by the callee’s', async () => {
    const trace = await plannerTrace();
    w.runtime.resetCalls();
    const req = { path: '/mcp', host: HOST.files, body: mcpCall('read_file') };
    const headers = { ...tp(trace), authorization: 'Bearer app-supplied' };
    const o = await w.out('planner', { ...req, headers });
    assert.equal(o.allowed, true, o.body);
    const token = (o.headersSet.authorization ?? '').replace(/^Bearer /, '');
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      tools?: unknown;
    };
    assert.ok(
      JSON.stringify(claims.tools).includes('read_file'),
      `T3 names the tool: ${JSON.stringify(claims)}`,
    );
    assert.equal(calls('token_exchange'), 1);
    const i = await w.in('planner', 'files', { ...req, headers: forwarded(o, headers) });
    assert.equal(i.allowed, true, i.body);
    assert.equal(calls('introspect'), 1);
  });

  it('agent → mcp_server tools/list: exchanged without tools', async () => {
    const trace = await plannerTrace();
    const o = await w.out('planner', {
      path: '/mcp',
      host: HOST.files,
      headers: tp(trace),
      body: rpc('tools/list'),
    });
    assert.equal(o.allowed, true, o.body);
    assert.match(o.headersSet.authorization ?? '', /^Bearer /);
  });

  it('agent → agent (A2A): the callee’s sidecar remembers the token, so the callee’s own MCP call is delegated', async () => {
    const trace = await plannerTrace();
    const req = { path: '/', host: HOST.helper, body: a2aSend('find hotels') };
    const o = await w.out('planner', { ...req, headers: tp(trace) });
    const i = await w.in('planner', 'helper', { ...req, headers: forwarded(o, tp(trace)) });
    assert.equal(i.allowed, true, i.body);
    const next = await w.out('helper', {
      path: '/mcp',
      host: HOST.files,
      headers: tp(trace),
      body: mcpCall('search_hotels'),
    });
    assert.equal(next.allowed, true, next.body);
  });

  it('agent → LLM host: allowed with x-litellm-call-id', async () => {
    const trace = await plannerTrace();
    const o = await w.out(
      'planner',
      {
        path: '/v1/chat/completions',
        host: LLM_HOST,
        headers: tp(trace),
        body: '{"model":"x","messages":[]}',
      },
      { to: '203.0.113.9' },
    );
    assert.equal(o.allowed, true, o.body);
    assert.match(o.headersSet['x-litellm-call-id'] ?? '', /^[0-9a-f-]{36}$/);
  });

  it('an agent with no token in the trace: no_delegation, no exchange', async () => {
    const o = await w.out('planner', {
      path: '/mcp',
      host: HOST.files,
      headers: tp(newTraceId()),
      body: mcpCall('read_file'),
    });
    assert.equal(o.reason, 'no_delegation');
    assert.equal(calls('token_exchange'), 0);
  });

  it('an agent without trace context: missing_trace_context, no runtime call', async () => {
    const o = await w.out('planner', { path: '/mcp', host: HOST.files, body: mcpCall('read_file') });
    assert.equal(o.reason, 'missing_trace_context');
    assert.equal(calls(), 0);
  });

  it('an agent → a host that is no MAS app: unknown_workload, no runtime call', async () => {
    const trace = await plannerTrace();
    w.runtime.resetCalls();
    const o = await w.out(
      'planner',
      { path: '/mcp', host: 'elsewhere.example:443', headers: tp(trace), body: mcpCall('x') },
      { to: '198.51.100.7' },
    );
    assert.equal(o.reason, 'unknown_workload');
    assert.equal(calls(), 0);
  });
});

describe('the callee’s sidecar, for callers outside the mesh’s MAS', () => {
  async function t3(tool: string): Promise<{ token: string; trace: string }> {
    const trace = await plannerTrace();
    const o = await w.out('planner', {
      path: '/mcp',
      host: HOST.files,
      headers: tp(trace),
      body: mcpCall(tool),
    });
    assert.equal(o.allowed, true, o.body);
    return { token: (o.headersSet.authorization ?? '').slice('Bearer '.length), trace };
  }
  const files = (headers: Record<string, string>, body = rpc('tools/list')) =>
    w.in(IP.outside, 'files', { path: '/mcp', host: HOST.files, headers, body });

  it('mcp_server without a token: missing_token, no runtime call', async () => {
    const i = await files(tp(newTraceId()), mcpCall('read_file'));
    assert.equal(i.reason, 'missing_token');
    assert.equal(calls(), 0);
  });
  it('mcp_server with a T3 for the tool: allowed, Authorization removed before the app', async () => {
    const { token, trace } = await t3('read_file');
    const i = await files({ ...tp(trace), authorization: `Bearer ${token}` }, mcpCall('read_file'));
    assert.equal(i.allowed, true, i.body);
    assert.ok(i.headersToRemove.includes('authorization'));
    assert.equal(i.headersSet.authorization, undefined);
  });
  it('mcp_server with a T3 for another tool: denied', async () => {
    const { token, trace } = await t3('read_file');
    const i = await files({ ...tp(trace), authorization: `Bearer ${token}` }, mcpCall('delete_everything'));
    assert.equal(i.allowed, false);
    assert.ok(
      ['inactive_token', 'tool_not_permitted', 'insufficient_scope'].includes(i.reason ?? ''),
      i.body,
    );
  });
  it('a garbage token is inactive; two Authorization values are multiple_tokens; Basic is malformed', async () => {
    const t = tp(newTraceId());
    assert.equal((await files({ ...t, authorization: 'Bearer abc.def.ghi' })).reason, 'inactive_token');
    assert.equal((await files({ ...t, authorization: 'Bearer a, Bearer b' })).reason, 'multiple_tokens');
    assert.equal((await files({ ...t, authorization: 'Basic dXNlcjpwdw==' })).reason, 'malformed_token');
  });
  it('the bearer scheme is case-insensitive', async () => {
    const { token, trace } = await t3('read_file');
    assert.equal((await files({ ...tp(trace), authorization: `bEaReR ${token}` })).allowed, true);
  });
  it('entry-point agent without a token: a T1 with its own credentials starts the trace', async () => {
    const i = await w.in(IP.outside, 'planner', {
      path: '/',
      host: HOST.planner,
      body: JSON.stringify({ prompt: 'Plan a weekend in Porto' }),
    });
    assert.equal(i.allowed, true, i.body);
    assert.equal(calls('token'), 1);
    assert.match(i.headersSet.traceparent ?? '', /^00-/);
    assert.ok(i.headersToRemove.includes('authorization'));
  });
  it('an agent that is no entry point, without a token: missing_token', async () => {
    const i = await w.in(IP.outside, 'helper', {
      path: '/',
      host: HOST.helper,
      headers: tp(newTraceId()),
      body: a2aSend('hi'),
    });
    assert.equal(i.reason, 'missing_token');
    assert.equal(calls(), 0);
  });
  it('a client destination is not enforced inbound', async () => {
    const i = await w.in(IP.outside, 'web', { method: 'GET', path: '/anything', host: HOST.web });
    assert.equal(i.allowed, true);
    assert.equal(calls(), 0);
  });
  it('CASA-internal headers are stripped on the way in', async () => {
    const { token, trace } = await t3('read_file');
    const i = await files({ ...tp(trace), authorization: `Bearer ${token}`, 'x-casa-trace-token': 'forged' });
    assert.equal(i.allowed, true, i.body);
    assert.ok(i.headersToRemove.includes('x-casa-trace-token'));
  });
});

describe('outside the MAS: not ours', () => {
  it('an unmanaged pod’s sidecar, outbound: allowed untouched, no runtime call', async () => {
    const stranger = { ip: IP.outside, namespace: 'outside', workload: 'outside', pod: 'outside-0' };
    const o = await w.out(stranger, { method: 'GET', path: '/', host: 'example.org' }, { to: '192.0.2.1' });
    assert.equal(o.allowed, true);
    assert.deepEqual(o.headersToRemove, []);
    assert.equal(calls(), 0);
  });
});

describe('caller identity at the outbound sidecar (Istio-specific rows)', () => {
  const codec = new PeerMetadataCodec();
  const req = (trace: string) => ({
    path: '/mcp',
    host: HOST.files,
    headers: tp(trace),
    body: mcpCall('read_file'),
  });

  it('peer metadata names the caller when the inventory does not know its address yet', async () => {
    const trace = await plannerTrace();
    const fresh = { ...POD.planner, ip: '10.0.0.99', pod: 'planner-rolling-1' };
    const o = await w.out(fresh, req(trace));
    assert.equal(o.allowed, true, o.body);
    assert.match(o.headersSet.authorization ?? '', /^Bearer /);
  });
  it('without peer metadata, the source IP names the caller', async () => {
    const trace = await plannerTrace();
    const o = await w.out('planner', req(trace), { peerMetadata: null });
    assert.equal(o.allowed, true, o.body);
  });
  it('peer metadata and source IP naming different apps: unknown_workload, no runtime call', async () => {
    const trace = await plannerTrace();
    w.runtime.resetCalls();
    const o = await w.out('planner', req(trace), {
      peerMetadata: codec.encode({ namespace: 'travel', workloadName: 'helper' }),
    });
    assert.equal(o.reason, 'unknown_workload');
    assert.match(o.body ?? '', /identity conflict/);
    assert.equal(calls(), 0);
  });
  it('unreadable peer metadata: unknown_workload, no runtime call', async () => {
    const o = await w.out('planner', req(newTraceId()), { peerMetadata: 'bm90IGEgc3RydWN0!!' });
    assert.equal(o.reason, 'unknown_workload');
    assert.equal(calls(), 0);
  });
});

describe('what the agent says about itself', () => {
  it('/debug/state: the istio data plane, why, and both sidecar ports; no Cilium ports', () => {
    const s = w.agent.state();
    assert.deepEqual(s.dataplane, { mode: 'istio', why: 'dataplane=istio (configured)' });
    assert.match(s.listen.istioInbound ?? '', /^127\.0\.0\.1:\d+$/);
    assert.match(s.listen.istioOutbound ?? '', /^127\.0\.0\.1:\d+$/);
    assert.notEqual(s.listen.istioInbound, s.listen.istioOutbound);
    assert.equal(s.listen.xds, undefined);
  });
  it('the decision log records each sidecar Check with its side', async () => {
    await w.out('planner', { path: '/mcp', host: HOST.files, body: mcpCall('read_file') });
    const last = w.agent.decisions.recent(1)[0];
    assert.equal(last?.direction, 'outbound');
    assert.equal(last?.reason, 'missing_trace_context');
  });
});
