// The decision table of ARCHITECTURE.md §3, row by row, through the real
// ext_authz gRPC service of a running NodeAgent, against the reference CASA
// runtime. Each row counts the runtime calls it caused: protocol violations
// must cause none.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { RuntimeEndpoint } from '../../../src/agent/dev/runtime/index.js';
import {
  a2aSend,
  HOST,
  IP,
  LLM_HOST,
  mcpCall,
  newTraceId,
  rpc,
  startWorld,
  traceparent,
  type World,
} from '../../support/casa-world.js';

let w: World;
before(async () => {
  w = await startWorld();
});
after(async () => {
  await w?.stop();
});

/** Runtime calls made since the last reset, without readiness pings. */
function calls(endpoint?: RuntimeEndpoint): number {
  if (endpoint) return w.runtime.calls(endpoint);
  return w.runtime.calls() - w.runtime.calls('health');
}
beforeEach(() => w.runtime.resetCalls());

/** A trace in which the planner received a valid token (as after a client's first call). */
async function plannerTrace(): Promise<string> {
  const trace = newTraceId();
  const r = await w.check(IP.web, IP.planner, {
    path: '/',
    host: HOST.planner,
    headers: { traceparent: traceparent(trace), 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'Plan a trip to Lisbon and read my itinerary file' }),
  });
  assert.equal(r.allowed, true, `setup: web → planner failed: ${r.body}`);
  return trace;
}

describe('protocol gate: violations are refused before any runtime call', () => {
  const rows: [string, string, string, { method?: string; path: string; host: string; body?: string }][] = [
    [
      'client → agent: plain GET of an API path',
      IP.web,
      IP.planner,
      { method: 'GET', path: '/admin', host: HOST.planner },
    ],
    [
      'agent → agent: JSON that is neither MCP nor A2A',
      IP.planner,
      IP.helper,
      { path: '/run', host: HOST.helper, body: '{"cmd":"x"}' },
    ],
    [
      'agent → mcp_server: non-MCP path',
      IP.planner,
      IP.files,
      { method: 'GET', path: '/etc/passwd', host: HOST.files },
    ],
    [
      'mcp_server → agent: an MCP server makes no calls',
      IP.files,
      IP.planner,
      { path: '/', host: HOST.planner, body: a2aSend('hi') },
    ],
    [
      'mcp_server → mcp_server: not even MCP',
      IP.files,
      IP.files,
      { path: '/mcp', host: HOST.files, body: rpc('tools/list') },
    ],
    [
      'agent → mcp_server: A2A to an MCP server',
      IP.planner,
      IP.files,
      { path: '/', host: HOST.files, body: a2aSend('hi') },
    ],
    [
      'client → LLM host: only agents may reach the LLM',
      IP.web,
      '203.0.113.9',
      { path: '/v1/chat/completions', host: LLM_HOST, body: '{}' },
    ],
    ['unmanaged → mcp_server: not MCP', IP.outside, IP.files, { method: 'GET', path: '/', host: HOST.files }],
    [
      'unmanaged → agent: encoded dot-segments to escape the MCP path',
      IP.outside,
      IP.files,
      { method: 'POST', path: '/mcp/%2e%2e/admin', host: HOST.files, body: rpc('tools/list') },
    ],
  ];
  for (const [name, from, to, spec] of rows) {
    it(name, async () => {
      const r = await w.check(from, to, { ...spec, headers: { traceparent: traceparent(newTraceId()) } });
      assert.equal(r.allowed, false);
      assert.equal(r.httpStatus, 403);
      assert.equal(r.reason, 'protocol_violation', r.body);
      assert.equal(calls(), 0, 'a protocol violation must not reach the runtime');
    });
  }
});

describe('outbound from a client: the first request of a trace gets a T1', () => {
  it('client → entry-point agent: T1 issued, exchanged for the agent, injected; the agent remembers it', async () => {
    const trace = newTraceId();
    const r = await w.check(IP.web, IP.planner, {
      path: '/',
      host: HOST.planner,
      headers: { traceparent: traceparent(trace), authorization: 'Bearer app-own-secret' },
      body: JSON.stringify({ prompt: 'Plan a trip' }),
    });
    assert.equal(r.allowed, true, r.body);
    assert.match(r.headersSet.authorization ?? '', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.notEqual(r.headersSet.authorization, 'Bearer app-own-secret');
    assert.equal(calls('token'), 1, 'one T1');
    assert.equal(calls('token_exchange'), 1, 'one exchange');
    assert.equal(calls('introspect'), 1, 'the injected token is verified for the callee');
    // The next request of the same trace reuses the client's T1 and the exchange.
    w.runtime.resetCalls();
    const again = await w.check(IP.web, IP.planner, {
      path: '/',
      host: HOST.planner,
      headers: { traceparent: traceparent(trace) },
      body: JSON.stringify({ prompt: 'Plan a trip' }),
    });
    assert.equal(again.allowed, true);
    assert.equal(calls('token'), 0);
    assert.equal(calls('token_exchange'), 0);
    assert.equal(calls('introspect'), 0);
  });

  it('client without traceparent starts a trace (the agent adds one)', async () => {
    const r = await w.check(IP.web, IP.planner, {
      path: '/',
      host: HOST.planner,
      body: JSON.stringify({ prompt: 'hello' }),
    });
    assert.equal(r.allowed, true, r.body);
    assert.match(r.headersSet.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('client whose prompt cannot be read: missing_prompt, no T1', async () => {
    const r = await w.check(IP.web, IP.planner, {
      path: '/',
      host: HOST.planner,
      headers: { traceparent: traceparent(newTraceId()) },
      body: a2aSend('no prompt field here'),
    });
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'missing_prompt');
    assert.equal(calls('token'), 0);
  });
});

describe('outbound from an agent: delegation within the trace', () => {
  it('agent → mcp_server tools/call: T3 with tools=[name], injected and verified', async () => {
    const trace = await plannerTrace();
    w.runtime.resetCalls();
    const r = await w.check(IP.planner, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(trace), authorization: 'Bearer app-supplied' },
      body: mcpCall('read_file'),
    });
    assert.equal(r.allowed, true, r.body);
    const token = (r.headersSet.authorization ?? '').replace(/^Bearer /, '');
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    assert.ok(
      JSON.stringify(claims.tools).includes('read_file'),
      `T3 names the tool: ${JSON.stringify(claims)}`,
    );
    assert.equal(calls('token_exchange'), 1);
    assert.equal(calls('introspect'), 1);
  });

  it('agent → mcp_server tools/list: exchange without tools', async () => {
    const trace = await plannerTrace();
    const r = await w.check(IP.planner, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(trace) },
      body: rpc('tools/list'),
    });
    assert.equal(r.allowed, true, r.body);
    assert.match(r.headersSet.authorization ?? '', /^Bearer /);
  });

  it('agent → agent (A2A message/send): exchanged without tools; the callee can delegate next', async () => {
    const trace = await plannerTrace();
    const r = await w.check(IP.planner, IP.helper, {
      path: '/',
      host: HOST.helper,
      headers: { traceparent: traceparent(trace) },
      body: a2aSend('find hotels'),
    });
    assert.equal(r.allowed, true, r.body);
    // helper now holds a token in this trace: its own MCP call is delegated.
    const next = await w.check(IP.helper, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(trace) },
      body: mcpCall('search_hotels'),
    });
    assert.equal(next.allowed, true, next.body);
  });

  it('agent → LLM host: allowed with x-litellm-call-id', async () => {
    const trace = await plannerTrace();
    const r = await w.check(IP.planner, '203.0.113.9', {
      path: '/v1/chat/completions',
      host: LLM_HOST,
      headers: { traceparent: traceparent(trace) },
      body: '{"model":"x","messages":[]}',
    });
    assert.equal(r.allowed, true, r.body);
    assert.match(r.headersSet['x-litellm-call-id'] ?? '', /^[0-9a-f-]{36}$/);
  });

  it('agent with no token in the trace: no_delegation, no exchange', async () => {
    const r = await w.check(IP.planner, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(newTraceId()) },
      body: mcpCall('read_file'),
    });
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'no_delegation');
    assert.equal(calls('token_exchange'), 0);
  });

  it('agent without trace context: missing_trace_context, no runtime call', async () => {
    const r = await w.check(IP.planner, IP.files, {
      path: '/mcp',
      host: HOST.files,
      body: mcpCall('read_file'),
    });
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'missing_trace_context');
    assert.equal(calls(), 0);
  });

  it('agent → a host that is no MAS app: unknown_workload', async () => {
    const trace = await plannerTrace();
    w.runtime.resetCalls();
    const r = await w.check(IP.planner, '198.51.100.7', {
      path: '/mcp',
      host: 'elsewhere.example:443',
      headers: { traceparent: traceparent(trace) },
      body: mcpCall('x'),
    });
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'unknown_workload');
    assert.equal(calls(), 0);
  });
});

describe('inbound to a managed app from an unmanaged caller', () => {
  async function t3(tool: string): Promise<{ token: string; trace: string }> {
    const trace = await plannerTrace();
    const r = await w.check(IP.planner, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(trace) },
      body: mcpCall(tool),
    });
    assert.equal(r.allowed, true, r.body);
    return { token: (r.headersSet.authorization ?? '').slice('Bearer '.length), trace };
  }

  it('mcp_server without a token: missing_token', async () => {
    const r = await w.check(IP.outside, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(newTraceId()) },
      body: mcpCall('read_file'),
    });
    assert.equal(r.reason, 'missing_token');
    assert.equal(calls(), 0);
  });

  it('mcp_server with a T3 for the tool: allowed, Authorization removed before the app', async () => {
    const { token, trace } = await t3('read_file');
    w.runtime.resetCalls();
    const r = await w.check(IP.outside, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(trace), authorization: `Bearer ${token}` },
      body: mcpCall('read_file'),
    });
    assert.equal(r.allowed, true, r.body);
    assert.ok(r.headersToRemove.includes('authorization'));
    assert.equal(r.headersSet.authorization, undefined);
  });

  it('mcp_server with a T3 for another tool: denied', async () => {
    const { token, trace } = await t3('read_file');
    const r = await w.check(IP.outside, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(trace), authorization: `Bearer ${token}` },
      body: mcpCall('delete_everything'),
    });
    assert.equal(r.allowed, false);
    assert.ok(
      ['inactive_token', 'tool_not_permitted', 'insufficient_scope'].includes(r.reason ?? ''),
      r.body,
    );
  });

  it('mcp_server tools/list with any active token: allowed', async () => {
    const { token, trace } = await t3('read_file');
    const r = await w.check(IP.outside, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(trace), authorization: `Bearer ${token}` },
      body: rpc('tools/list'),
    });
    assert.equal(r.allowed, true, r.body);
  });

  it('a garbage token is inactive; two Authorization values are multiple_tokens; a bad scheme is malformed', async () => {
    const base = { path: '/mcp', host: HOST.files, body: rpc('tools/list') };
    const tp = traceparent(newTraceId());
    const garbage = await w.check(IP.outside, IP.files, {
      ...base,
      headers: { traceparent: tp, authorization: 'Bearer abc.def.ghi' },
    });
    assert.equal(garbage.reason, 'inactive_token');
    const two = await w.check(IP.outside, IP.files, {
      ...base,
      headers: { traceparent: tp, authorization: 'Bearer a, Bearer b' },
    });
    assert.equal(two.reason, 'multiple_tokens');
    const basic = await w.check(IP.outside, IP.files, {
      ...base,
      headers: { traceparent: tp, authorization: 'Basic dXNlcjpwdw==' },
    });
    assert.equal(basic.reason, 'malformed_token');
  });

  it('the bearer scheme is case-insensitive', async () => {
    const { token, trace } = await t3('read_file');
    const r = await w.check(IP.outside, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(trace), authorization: `bEaReR ${token}` },
      body: rpc('tools/list'),
    });
    assert.equal(r.allowed, true, r.body);
  });

  it('entry-point agent without a token: a T1 with its own credentials starts the trace', async () => {
    const r = await w.check(IP.outside, IP.planner, {
      path: '/',
      host: HOST.planner,
      body: JSON.stringify({ prompt: 'Plan a weekend in Porto' }),
    });
    assert.equal(r.allowed, true, r.body);
    assert.equal(calls('token'), 1);
    assert.match(r.headersSet.traceparent ?? '', /^00-/, 'a traceparent is added where none arrived');
    assert.ok(r.headersToRemove.includes('authorization'));
  });

  it('agent that is no entry point, without a token: missing_token', async () => {
    const r = await w.check(IP.outside, IP.helper, {
      path: '/',
      host: HOST.helper,
      headers: { traceparent: traceparent(newTraceId()) },
      body: a2aSend('hi'),
    });
    assert.equal(r.reason, 'missing_token');
    assert.equal(calls(), 0);
  });

  it('client destination is not enforced inbound', async () => {
    const r = await w.check(IP.outside, IP.web, { method: 'GET', path: '/anything', host: HOST.web });
    assert.equal(r.allowed, true);
    assert.equal(calls(), 0);
  });

  it('CASA-internal headers are stripped on the way in', async () => {
    const { token, trace } = await t3('read_file');
    const r = await w.check(IP.outside, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: {
        traceparent: traceparent(trace),
        authorization: `Bearer ${token}`,
        'x-casa-trace-token': 'forged',
      },
      body: rpc('tools/list'),
    });
    assert.equal(r.allowed, true, r.body);
    assert.ok(r.headersToRemove.includes('x-casa-trace-token'));
  });
});

describe('unmanaged to unmanaged', () => {
  it('is not ours: allowed untouched, no runtime call', async () => {
    const r = await w.check(IP.outside, '192.0.2.1', { method: 'GET', path: '/', host: 'example.org' });
    assert.equal(r.allowed, true);
    assert.deepEqual(r.headersToRemove, []);
    assert.equal(calls(), 0);
  });
});
