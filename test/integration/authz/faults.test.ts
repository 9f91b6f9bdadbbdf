// Fail closed, through the real ext_authz service: every way the runtime can
// fail — absent at start, lost mid-run, slow past the deadline, 5xx, HTML,
// truncated or malformed JSON, a 10 MB body, wrong types, a reset — ends in a
// deny with a reason code. Cached allows outlive an outage only until their
// 30-second end (an injected clock moves time).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RuntimeFault } from '../../../src/agent/dev/runtime/index.js';
import {
  HOST,
  IP,
  mcpCall,
  newTraceId,
  rpc,
  startWorld,
  traceparent,
  type World,
} from '../../support/casa-world.js';

let clock = Date.now();
const now = () => clock;

/** Gets a T3 for `tool` in a fresh trace (client → planner → files). */
async function mintT3(w: World, tool: string): Promise<{ token: string; trace: string }> {
  const trace = newTraceId();
  const tp = traceparent(trace);
  const first = await w.check(IP.web, IP.planner, {
    path: '/',
    host: HOST.planner,
    headers: { traceparent: tp },
    body: JSON.stringify({ prompt: 'read my notes' }),
  });
  assert.equal(first.allowed, true, first.body);
  const r = await w.check(IP.planner, IP.files, {
    path: '/mcp',
    host: HOST.files,
    headers: { traceparent: tp },
    body: mcpCall(tool),
  });
  assert.equal(r.allowed, true, r.body);
  return { token: (r.headersSet.authorization ?? '').slice('Bearer '.length), trace };
}

function inbound(w: World, token: string, trace: string, body = mcpCall('read_file')) {
  return w.check(IP.outside, IP.files, {
    path: '/mcp',
    host: HOST.files,
    headers: { traceparent: traceparent(trace), authorization: `Bearer ${token}` },
    body,
  });
}

describe('runtime absent at start', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ runtimeDown: true, now });
  });
  after(async () => {
    await w?.stop();
  });

  it('the agent is not ready, and every Check that needs the runtime is denied runtime_unavailable', async () => {
    assert.equal(w.agent.readiness().ready, false);
    assert.ok(w.agent.readiness().waitingFor.some((s) => s.includes('runtime')));
    const r = await inbound(w, 'abc.def.ghi', newTraceId(), rpc('tools/list'));
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'runtime_unavailable');
    const entry = await w.check(IP.outside, IP.planner, {
      path: '/',
      host: HOST.planner,
      body: JSON.stringify({ prompt: 'hi' }),
    });
    assert.equal(entry.reason, 'runtime_unavailable');
  });

  it('becomes ready once the runtime answers', async () => {
    await w.runtime.start();
    for (let i = 0; i < 100 && !w.agent.readiness().ready; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(w.agent.readiness().ready, true);
  });
});

describe('runtime lost mid-run: cached allows until their 30 s end, then deny', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ now });
  });
  after(async () => {
    await w?.stop();
  });

  it('serves the cached introspection with no runtime call, then fails closed after 30 s', async () => {
    const { token, trace } = await mintT3(w, 'read_file');
    const first = await inbound(w, token, trace);
    assert.equal(first.allowed, true, first.body);
    await w.runtime.stop();
    clock += 20_000;
    const cached = await inbound(w, token, trace);
    assert.equal(cached.allowed, true, 'within 30 s the cached allow stands');
    clock += 10_001;
    const expired = await inbound(w, token, trace);
    assert.equal(expired.allowed, false, 'after 30 s the outage denies');
    assert.equal(expired.reason, 'runtime_unavailable');
    // A token never seen before is denied at once.
    const fresh = await inbound(w, 'never.seen.before', trace, rpc('tools/list'));
    assert.equal(fresh.reason, 'runtime_unavailable');
    await w.runtime.start();
  });
});

describe('runtime answers badly: every fault is a deny with a reason', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ now, flags: { runtimeTimeout: '400ms' } });
  });
  after(async () => {
    await w?.stop();
  });

  const faults: [string, RuntimeFault, string][] = [
    ['500 text/plain', { kind: 'status', status: 500 }, 'runtime_bad_response'],
    [
      '503 JSON',
      { kind: 'status', status: 503, body: '{"detail":"down"}', contentType: 'application/json' },
      'runtime_bad_response',
    ],
    ['an HTML error page with 200', { kind: 'html' }, 'runtime_bad_response'],
    ['JSON shorter than its Content-Length', { kind: 'truncated_json' }, 'runtime_bad_response'],
    ['malformed JSON', { kind: 'malformed_json' }, 'runtime_bad_response'],
    ['a 10 MB body', { kind: 'oversized', bytes: 10 * 1024 * 1024 }, 'runtime_bad_response'],
    ['wrong JSON types', { kind: 'wrong_types' }, 'runtime_bad_response'],
    ['connection closed without an answer', { kind: 'close_socket' }, 'runtime_unavailable'],
    ['connection reset', { kind: 'reset' }, 'runtime_unavailable'],
    ['slower than the runtime deadline', { kind: 'delay', ms: 1500 }, 'runtime_timeout'],
  ];

  for (const [name, fault, reason] of faults) {
    it(`introspection: ${name} → ${reason}`, async () => {
      const h = w.runtime.injectFault(fault, { endpoints: ['introspect'] });
      try {
        const r = await inbound(w, `tok.${name.replace(/\W/g, '')}.x`, newTraceId(), rpc('tools/list'));
        assert.equal(r.allowed, false);
        assert.equal(r.reason, reason, r.body);
        assert.equal(r.httpStatus, 403);
      } finally {
        h.remove();
      }
    });

    it(`token exchange: ${name} → ${reason}`, async () => {
      const trace = newTraceId();
      const tp = traceparent(trace);
      const first = await w.check(IP.web, IP.planner, {
        path: '/',
        host: HOST.planner,
        headers: { traceparent: tp },
        body: JSON.stringify({ prompt: 'read my notes' }),
      });
      assert.equal(first.allowed, true, first.body);
      const h = w.runtime.injectFault(fault, { endpoints: ['token_exchange'] });
      try {
        const r = await w.check(IP.planner, IP.files, {
          path: '/mcp',
          host: HOST.files,
          headers: { traceparent: tp },
          body: mcpCall('read_file'),
        });
        assert.equal(r.allowed, false);
        assert.equal(r.reason, reason, r.body);
      } finally {
        h.remove();
      }
    });
  }

  it('T1 issue refused by the runtime → token_issue_failed; a failure is never cached', async () => {
    const h = w.runtime.injectFault(
      { kind: 'status', status: 401, body: '{"error":"invalid_client"}', contentType: 'application/json' },
      { endpoints: ['token'], times: 1 },
    );
    const body = JSON.stringify({ prompt: 'hello' });
    const r = await w.check(IP.outside, IP.planner, { path: '/', host: HOST.planner, body });
    h.remove();
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'token_issue_failed', r.body);
    const again = await w.check(IP.outside, IP.planner, { path: '/', host: HOST.planner, body });
    assert.equal(again.allowed, true, again.body);
  });

  it('a runtime exchange policy deny (tool_intent_mismatch) → exchange_failed naming the runtime reason', async () => {
    const trace = newTraceId();
    const tp = traceparent(trace);
    await w.check(IP.web, IP.planner, {
      path: '/',
      host: HOST.planner,
      headers: { traceparent: tp },
      body: JSON.stringify({ prompt: 'read my notes' }),
    });
    w.runtime.setPolicy(() => ({ deny: 'tool_intent_mismatch' }));
    try {
      const r = await w.check(IP.planner, IP.files, {
        path: '/mcp',
        host: HOST.files,
        headers: { traceparent: tp },
        body: mcpCall('read_file'),
      });
      assert.equal(r.allowed, false);
      assert.equal(r.reason, 'exchange_failed', r.body);
      assert.match(r.body ?? '', /tool_intent_mismatch/);
    } finally {
      w.runtime.setPolicy(undefined);
    }
  });

  it('a Check deadline shorter than the runtime answer → deadline_exceeded, never an allow', async () => {
    const h = w.runtime.injectFault({ kind: 'delay', ms: 350 }, { endpoints: ['introspect'] });
    try {
      const r = await w.client.check(
        {
          path: '/mcp',
          host: HOST.files,
          headers: { traceparent: traceparent(newTraceId()), authorization: 'Bearer slow.token.x' },
          body: rpc('tools/list'),
          source: { ip: IP.outside },
          destination: { ip: IP.files },
        },
        200,
      );
      assert.equal(r.allowed, false);
      assert.equal(r.reason, 'deadline_exceeded');
    } finally {
      h.remove();
    }
  });
});

describe('request bodies: partial and absent', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ now });
  });
  after(async () => {
    await w?.stop();
  });

  it('a tools/call cut by allow_partial_message is denied (body_invalid) before any runtime call', async () => {
    w.runtime.resetCalls();
    const r = await w.check(IP.outside, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(newTraceId()), authorization: 'Bearer a.b.c' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_fi',
      partial: true,
    });
    assert.equal(r.reason, 'body_invalid');
    assert.equal(w.runtime.calls() - w.runtime.calls('health'), 0);
  });

  it('raw_body (pack_as_bytes) works like body', async () => {
    const { token, trace } = await mintT3(w, 'read_file');
    const r = await w.check(IP.outside, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(trace), authorization: `Bearer ${token}` },
      body: mcpCall('read_file'),
      raw: true,
    });
    assert.equal(r.allowed, true, r.body);
  });

  it('a POST to the MCP endpoint without a body is not MCP', async () => {
    const r = await w.check(IP.outside, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(newTraceId()), authorization: 'Bearer a.b.c' },
    });
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'protocol_violation');
  });
});
