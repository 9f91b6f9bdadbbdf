// The request decision (ARCHITECTURE.md §3): inbound, outbound and
// both-direction Checks, traces, entry points, and the final header mutations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicyConfig } from '../../../src/policy/config.js';
import {
  allow,
  denyBody,
  type Plan,
  type PlanInput,
  plan,
  whenNoSubjectToken,
} from '../../../src/policy/decision.js';
import type { HttpRequestAttributes } from '../../../src/policy/request.js';
import type { Allow, Decision, Deny, Endpoint } from '../../../src/policy/types.js';
import {
  agent,
  client,
  endpoint,
  entryAgent,
  FRESH,
  LLM_HOST,
  mcpServer,
  req,
  rpc,
  TRACE,
  TRACEPARENT,
} from './fixtures.js';

const config = createPolicyConfig();
const WITH_TRACE = { traceparent: TRACEPARENT };
const BEARER = { authorization: 'Bearer in-token' };
const MINTED = `00-${FRESH.traceId}-${FRESH.spanId}-01`;
const call = (name: string) => rpc('tools/call', { name, arguments: {} });
const a2a = (headers: Record<string, string> = {}, body: object = rpc('message/send', { message: {} })) =>
  req('POST', '/', { headers, body });

function run(over: Partial<PlanInput> & { request: HttpRequestAttributes }): Plan | Deny {
  return plan({ config, fresh: FRESH, ...over });
}
function mustPlan(r: Plan | Deny): Plan {
  assert.equal(r.kind, 'plan', JSON.stringify(r));
  return r as Plan;
}
function mustDeny(r: Plan | Deny | Decision | { kind: string }, reason: string): Deny {
  assert.equal(r.kind, 'deny', JSON.stringify(r));
  assert.equal((r as Deny).reason, reason, JSON.stringify(r));
  assert.equal((r as Deny).status, 403);
  return r as Deny;
}
function mustAllow(d: Decision): Allow {
  assert.equal(d.kind, 'allow', JSON.stringify(d));
  return d as Allow;
}
function denies(r: Plan | Deny | Decision | { kind: string }, reason: string): void {
  mustDeny(r, reason);
}
const header = (a: Allow, key: string) => a.headersToSet.find((h) => h.key === key);

describe('plan: neither side managed', () => {
  it('plans nothing and allows without mutations', () => {
    const p = mustPlan(run({ request: req('GET', '/anything') }));
    assert.equal(p.direction, 'none');
    assert.deepEqual(mustAllow(allow(p)), { kind: 'allow', headersToSet: [], headersToRemove: [] });
  });

  it('a request to an unenforced client from an unmanaged caller plans nothing', () => {
    assert.equal(mustPlan(run({ request: a2a(), destination: client })).direction, 'none');
  });
});

describe('plan: inbound (destination managed)', () => {
  it('verifies the bearer token, remembers it for the agent, and removes it before the app', () => {
    const p = mustPlan(run({ request: a2a({ ...WITH_TRACE, ...BEARER }), destination: agent }));
    assert.equal(p.direction, 'inbound');
    assert.equal(p.traceId, TRACE);
    assert.deepEqual(p.inbound, {
      kind: 'verify',
      destination: agent,
      token: { from: 'request', value: 'in-token' },
      requirement: {},
      remember: { traceId: TRACE, app: agent },
    });
    const a = mustAllow(allow(p));
    assert.deepEqual(a.headersToRemove, ['authorization']);
    assert.deepEqual(a.headersToSet, [], 'a traceparent arrived: none is added');
  });

  it('to an mcp_server, tools/call requires call-tools and the tool; nothing is remembered', () => {
    const p = mustPlan(
      run({
        request: req('POST', '/mcp', { headers: { ...WITH_TRACE, ...BEARER }, body: call('get_weather') }),
        destination: mcpServer,
      }),
    );
    assert.equal(p.inbound?.kind, 'verify');
    if (p.inbound?.kind === 'verify') {
      assert.deepEqual(p.inbound.requirement, { tools: ['get_weather'], scope: 'call-tools' });
      assert.equal(p.inbound.remember, undefined, 'an mcp_server makes no outbound calls to delegate');
    }
  });

  it('to an mcp_server, other methods need only an active token', () => {
    const p = mustPlan(
      run({
        request: req('POST', '/mcp', { headers: { ...WITH_TRACE, ...BEARER }, body: rpc('tools/list') }),
        destination: mcpServer,
      }),
    );
    assert.equal(p.inbound?.kind === 'verify' && JSON.stringify(p.inbound.requirement), '{}');
  });

  it('adds a traceparent where none arrived', () => {
    const p = mustPlan(run({ request: a2a(BEARER), destination: agent }));
    assert.equal(p.traceId, FRESH.traceId);
    assert.equal(p.traceparent, MINTED);
    assert.deepEqual(header(mustAllow(allow(p)), 'traceparent'), {
      key: 'traceparent',
      value: MINTED,
      overwrite: true,
    });
  });

  it('replaces a malformed traceparent with a fresh one', () => {
    const p = mustPlan(run({ request: a2a({ traceparent: '00-XYZ', ...BEARER }), destination: agent }));
    assert.equal(p.traceparent, MINTED);
  });

  it('refuses to mint with fresh ids that are not W3C ids', () => {
    mustDeny(
      run({ request: a2a(BEARER), destination: agent, fresh: { ...FRESH, traceId: '0'.repeat(32) } }),
      'internal_error',
    );
  });

  const tokenFailures: [Record<string, string>, string][] = [
    [{}, 'missing_token'],
    [{ authorization: 'Basic dTpw' }, 'malformed_token'],
    [{ authorization: 'Bearer ' }, 'malformed_token'],
    [{ authorization: 'Bearer a,Bearer b' }, 'multiple_tokens'],
  ];
  for (const [headers, reason] of tokenFailures) {
    it(`denies ${reason} to an agent without an entry point`, () =>
      denies(run({ request: a2a({ ...WITH_TRACE, ...headers }), destination: agent }), reason));
    it(`denies ${reason} to an mcp_server`, () =>
      denies(
        run({
          request: req('POST', '/mcp', { headers: { ...WITH_TRACE, ...headers }, body: rpc('ping') }),
          destination: mcpServer,
        }),
        reason,
      ));
  }

  it('denies a cut MCP body to an mcp_server: the tool cannot be known', () => {
    const r = run({
      request: req('POST', '/mcp', {
        headers: { ...WITH_TRACE, ...BEARER },
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/list","x":"aaa',
        truncated: true,
      }),
      destination: mcpServer,
    });
    mustDeny(r, 'body_invalid');
  });

  it('removes CASA-internal headers', () => {
    const p = mustPlan(
      run({
        request: a2a({
          ...WITH_TRACE,
          ...BEARER,
          'x-casa-user': 'admin',
          'x-casa-trace': '1',
          'x-other': '1',
        }),
        destination: agent,
      }),
    );
    assert.deepEqual([...mustAllow(allow(p)).headersToRemove].sort(), [
      'authorization',
      'x-casa-trace',
      'x-casa-user',
    ]);
  });
});

describe('plan: entry points (an agent with promptFieldJsonPath, no token)', () => {
  const entry = (init: Parameters<typeof req>[2]) =>
    run({ request: req('POST', '/', init), destination: entryAgent });

  it('reads the prompt and plans a T1 with the agent’s own credentials, remembered in the trace', () => {
    const p = mustPlan(entry({ headers: WITH_TRACE, body: { prompt: 'book a flight' } }));
    assert.deepEqual(p.inbound, {
      kind: 'entry_point',
      destination: entryAgent,
      userInput: 'book a flight',
      remember: { traceId: TRACE, app: entryAgent },
    });
    assert.deepEqual(mustAllow(allow(p)).headersToRemove, ['authorization']);
  });

  it('starts a trace when none arrived', () => {
    const p = mustPlan(entry({ body: { prompt: 'hi' } }));
    assert.equal(p.traceparent, MINTED);
    assert.equal(p.inbound?.kind === 'entry_point' && p.inbound.remember.traceId, FRESH.traceId);
  });

  it('CASA’s plain {"prompt": …} API is accepted on any POST path of the entry point', () => {
    const p = mustPlan(
      run({ request: req('POST', '/chat', { body: { prompt: 'hi' } }), destination: entryAgent }),
    );
    assert.equal(p.inbound?.kind === 'entry_point' && p.inbound.userInput, 'hi');
    assert.equal(p.classification.protocol, 'other', 'the classification stays honest');
  });

  it('the gate still applies to everything else sent to an entry point', () => {
    denies(run({ request: req('GET', '/admin'), destination: entryAgent }), 'protocol_violation');
    denies(
      run({ request: req('PUT', '/chat', { body: { prompt: 'hi' } }), destination: entryAgent }),
      'protocol_violation',
    );
    denies(
      run({ request: req('POST', '/x%00', { body: { prompt: 'hi' } }), destination: entryAgent }),
      'protocol_violation',
    );
  });

  it('with entryPointApi off, only MCP and A2A reach an entry point', () => {
    const strict = createPolicyConfig({ entryPointApi: false });
    denies(
      plan({
        request: req('POST', '/chat', { body: { prompt: 'hi' } }),
        destination: entryAgent,
        config: strict,
        fresh: FRESH,
      }),
      'protocol_violation',
    );
  });

  it('a managed client may call the prompt API: T1 with the client’s credentials, then an exchange', () => {
    const request = req('POST', '/chat', { body: { prompt: 'plan a trip' } });
    const p = mustPlan(run({ request, source: client, destination: entryAgent }));
    assert.equal(p.direction, 'both');
    assert.equal(p.outbound?.kind, 'exchange');
    assert.deepEqual(whenNoSubjectToken(p, request, config), {
      kind: 'issue_user_token',
      app: client,
      userInput: 'plan a trip',
    });
  });

  it('an mcp_server may not call the prompt API (its row allows nothing)', () => {
    denies(
      run({
        request: req('POST', '/chat', { headers: WITH_TRACE, body: { prompt: 'x' } }),
        source: mcpServer,
        destination: entryAgent,
      }),
      'protocol_violation',
    );
  });

  it('reads A2A message bodies with a deeper path', () => {
    const deep = endpoint('deep', 'agent', { promptFieldJsonPath: '{.params.message.parts[-1].text}' });
    const body = rpc('message/send', { message: { parts: [{ text: 'first' }, { text: 'last' }] } });
    const p = mustPlan(run({ request: a2a(WITH_TRACE, body), destination: deep }));
    assert.equal(p.inbound?.kind === 'entry_point' && p.inbound.userInput, 'last');
  });

  const failures: [string, Parameters<typeof req>[2], string][] = [
    ['no body', { headers: WITH_TRACE }, 'body_required'],
    ['a cut body', { headers: WITH_TRACE, body: '{"prompt":"a', truncated: true }, 'body_invalid'],
    ['a body that is not JSON', { headers: WITH_TRACE, body: 'prompt=hi' }, 'body_invalid'],
    ['a JSON body without the field', { headers: WITH_TRACE, body: { question: 'hi' } }, 'missing_prompt'],
    ['no prompt field', { headers: WITH_TRACE, body: rpc('message/send', {}) }, 'missing_prompt'],
    [
      'an empty prompt',
      { headers: WITH_TRACE, body: { ...rpc('message/send', {}), prompt: '  ' } },
      'missing_prompt',
    ],
    [
      'a null prompt',
      { headers: WITH_TRACE, body: { ...rpc('message/send', {}), prompt: null } },
      'missing_prompt',
    ],
    [
      'a malformed token (no entry point then)',
      {
        headers: { ...WITH_TRACE, authorization: 'Bearer a b' },
        body: { ...rpc('message/send', {}), prompt: 'x' },
      },
      'malformed_token',
    ],
  ];
  for (const [name, init, reason] of failures) {
    it(`${name} → ${reason}`, () => denies(entry(init), reason));
  }

  it('a token present means verify, not a new trace', () => {
    const p = mustPlan(
      entry({ headers: { ...WITH_TRACE, ...BEARER }, body: { ...rpc('message/send', {}), prompt: 'x' } }),
    );
    assert.equal(p.inbound?.kind, 'verify');
  });

  it('an unusable promptFieldJsonPath is missing_prompt, not a crash', () => {
    const bad = endpoint('bad', 'agent', { promptFieldJsonPath: '{.a[?(@.x)]}' });
    mustDeny(
      run({ request: a2a(WITH_TRACE, { ...rpc('message/send', {}), a: [] }), destination: bad }),
      'missing_prompt',
    );
  });
});

describe('plan: both directions in one Check (Cilium checks on the caller’s node)', () => {
  const other = endpoint('planner', 'agent');

  it('agent → mcp_server tools/call: exchange with tools and the MCP URL; inbound verifies that token', () => {
    const p = mustPlan(
      run({
        request: req('POST', '/mcp', {
          headers: { ...WITH_TRACE, authorization: 'Bearer app-own' },
          body: call('get_weather'),
        }),
        source: agent,
        destination: mcpServer,
      }),
    );
    assert.equal(p.direction, 'both');
    assert.deepEqual(p.outbound, {
      kind: 'exchange',
      source: agent,
      subject: { traceId: TRACE, app: agent },
      target: {
        destination: mcpServer,
        type: 'mcp_server',
        tools: ['get_weather'],
        mcpServerUrl: 'http://files:8000/mcp',
      },
    });
    assert.deepEqual(p.inbound, {
      kind: 'verify',
      destination: mcpServer,
      token: { from: 'outbound' },
      requirement: { tools: ['get_weather'], scope: 'call-tools' },
      remember: undefined,
    });
    const a = mustAllow(allow(p, { outboundToken: 'T3.jwt' }));
    assert.deepEqual(header(a, 'authorization'), {
      key: 'authorization',
      value: 'Bearer T3.jwt',
      overwrite: true,
    });
    assert.ok(!a.headersToRemove.includes('authorization'), 'the injected token must not be removed again');
  });

  it('agent → mcp_server tools/list: exchange without tools, still to the MCP URL', () => {
    const p = mustPlan(
      run({
        request: req('POST', '/mcp', { headers: WITH_TRACE, body: rpc('tools/list') }),
        source: agent,
        destination: mcpServer,
      }),
    );
    assert.deepEqual(p.outbound?.kind === 'exchange' && p.outbound.target, {
      destination: mcpServer,
      type: 'mcp_server',
      tools: undefined,
      mcpServerUrl: 'http://files:8000/mcp',
    });
  });

  it('the MCP URL falls back to the request scheme and host without a baseUrl', () => {
    const bare = { ...mcpServer, app: { ...mcpServer.app, baseUrl: undefined } };
    const p = mustPlan(
      run({
        request: req('POST', '/mcp', {
          headers: WITH_TRACE,
          body: rpc('ping'),
          host: 'files.demo:9000',
          scheme: 'https',
        }),
        source: agent,
        destination: bare,
      }),
    );
    assert.equal(
      p.outbound?.kind === 'exchange' && p.outbound.target.mcpServerUrl,
      'https://files.demo:9000/mcp',
    );
  });

  it('agent → agent (A2A): exchange without tools; the callee remembers the token for its own calls', () => {
    const p = mustPlan(run({ request: a2a(WITH_TRACE), source: agent, destination: other }));
    assert.deepEqual(p.outbound?.kind === 'exchange' && p.outbound.target, {
      destination: other,
      type: 'agent',
      tools: undefined,
      mcpServerUrl: undefined,
    });
    assert.deepEqual(p.inbound?.kind === 'verify' && p.inbound.remember, { traceId: TRACE, app: other });
  });

  it('agent → mcp_server with a cut body is denied before any exchange', () => {
    mustDeny(
      run({
        request: req('POST', '/mcp', {
          headers: WITH_TRACE,
          body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a',
          truncated: true,
        }),
        source: agent,
        destination: mcpServer,
      }),
      'body_invalid',
    );
  });

  it('agent → mcp_server speaking A2A is refused by the callee’s row', () => {
    mustDeny(run({ request: a2a(WITH_TRACE), source: agent, destination: mcpServer }), 'protocol_violation');
  });

  it('an exchange step without a token cannot be allowed', () => {
    const p = mustPlan(run({ request: a2a(WITH_TRACE), source: agent, destination: other }));
    mustDeny(allow(p), 'internal_error');
    mustDeny(allow(p, { outboundToken: 'bad token\r\nx-evil: 1' }), 'runtime_bad_response');
  });
});

describe('plan: trace context on the way out', () => {
  const other = endpoint('planner', 'agent');

  it('an agent without traceparent is denied missing_trace_context', () => {
    const d = mustDeny(run({ request: a2a(), source: agent, destination: other }), 'missing_trace_context');
    assert.match(d.message, /no traceparent/);
  });

  it('an agent with a malformed traceparent is denied missing_trace_context', () => {
    const d = mustDeny(
      run({
        request: a2a({ traceparent: `00-${TRACE}-00f067aa0ba902b7-01-x` }),
        source: agent,
        destination: other,
      }),
      'missing_trace_context',
    );
    assert.match(d.message, /invalid/);
  });

  it('LLM egress needs trace context too', () => {
    mustDeny(
      run({ request: req('POST', '/v1/chat/completions', { host: LLM_HOST, body: '{}' }), source: agent }),
      'missing_trace_context',
    );
  });

  it('with requireTraceContext off, a trace is minted and the agent then has nothing delegated', () => {
    const lax = createPolicyConfig({ requireTraceContext: false });
    const request = a2a();
    const p = mustPlan(plan({ request, source: agent, destination: other, config: lax, fresh: FRESH }));
    assert.equal(p.traceparent, MINTED);
    mustDeny(whenNoSubjectToken(p, request, lax), 'no_delegation');
  });

  it('a client starts a trace: minted even when trace context is required', () => {
    const p = mustPlan(
      run({
        request: req('POST', '/', { body: { ...rpc('message/send', {}), prompt: 'hi' } }),
        source: client,
        destination: entryAgent,
      }),
    );
    assert.equal(p.traceparent, MINTED);
    assert.equal(p.outbound?.kind === 'exchange' && p.outbound.subject.traceId, FRESH.traceId);
  });

  it('no trace is needed where no token moves (to a client)', () => {
    const p = mustPlan(run({ request: a2a(), source: agent, destination: client }));
    assert.deepEqual(p.outbound, { kind: 'strip', source: agent, why: 'client_destination' });
    assert.equal(p.traceparent, undefined);
  });
});

describe('whenNoSubjectToken: the trace lookup found nothing', () => {
  const other = endpoint('planner', 'agent');

  it('an agent → no_delegation', () => {
    const request = a2a(WITH_TRACE);
    const p = mustPlan(run({ request, source: agent, destination: other }));
    const d = mustDeny(whenNoSubjectToken(p, request, config), 'no_delegation');
    assert.match(d.message, new RegExp(TRACE));
  });

  it('a client → a T1 for the prompt, read with the destination’s promptFieldJsonPath', () => {
    const request = req('POST', '/', {
      headers: WITH_TRACE,
      body: { ...rpc('message/send', {}), prompt: 'plan my trip' },
    });
    const p = mustPlan(run({ request, source: client, destination: entryAgent }));
    assert.deepEqual(whenNoSubjectToken(p, request, config), {
      kind: 'issue_user_token',
      app: client,
      userInput: 'plan my trip',
    });
  });

  it('a client whose destination declares no path uses its own', () => {
    const ownPath: Endpoint = { ...client, app: { ...client.app, promptFieldJsonPath: '{.params.q}' } };
    const request = a2a(WITH_TRACE, rpc('message/send', { q: 'question' }));
    const p = mustPlan(run({ request, source: ownPath, destination: other }));
    assert.deepEqual(whenNoSubjectToken(p, request, config), {
      kind: 'issue_user_token',
      app: ownPath,
      userInput: 'question',
    });
  });

  const clientFailures: [string, HttpRequestAttributes, Endpoint, string][] = [
    ['no path anywhere', a2a(WITH_TRACE), endpoint('planner', 'agent'), 'missing_prompt'],
    ['no prompt in the body', a2a(WITH_TRACE), entryAgent, 'missing_prompt'],
    [
      'a cut body',
      req('POST', '/', {
        headers: WITH_TRACE,
        body: '{"jsonrpc":"2.0","method":"message/send","prompt":"x',
        truncated: true,
      }),
      entryAgent,
      'body_invalid',
    ],
  ];
  for (const [name, request, destination, reason] of clientFailures) {
    it(`a client with ${name} → ${reason}`, () => {
      const p = mustPlan(run({ request, source: client, destination }));
      mustDeny(whenNoSubjectToken(p, request, config), reason);
    });
  }

  it('an MCP request from a client: MCP bodies carry no prompt → missing_prompt', () => {
    const request = req('POST', '/mcp', { headers: WITH_TRACE, body: rpc('initialize', {}) });
    const p = mustPlan(run({ request, source: client, destination: mcpServer }));
    mustDeny(whenNoSubjectToken(p, request, config), 'missing_prompt');
  });

  it('LLM egress of an agent → no_delegation', () => {
    const request = req('POST', '/v1/chat/completions', { host: LLM_HOST, headers: WITH_TRACE, body: '{}' });
    const p = mustPlan(run({ request, source: agent }));
    mustDeny(whenNoSubjectToken(p, request, config), 'no_delegation');
  });

  it('a plan without such a step is an internal error', () => {
    const request = a2a({ ...WITH_TRACE, ...BEARER });
    const p = mustPlan(run({ request, destination: agent }));
    mustDeny(whenNoSubjectToken(p, request, config), 'internal_error');
  });
});

describe('plan: LLM egress', () => {
  it('tags the call with x-litellm-call-id and keeps the app’s own Authorization (the LLM key)', () => {
    const request = req('POST', '/v1/chat/completions', {
      host: `${LLM_HOST}:443`,
      headers: { ...WITH_TRACE, authorization: 'Bearer sk-llm' },
      body: '{}',
    });
    const p = mustPlan(run({ request, source: agent }));
    assert.deepEqual(p.outbound, {
      kind: 'llm',
      source: agent,
      subject: { traceId: TRACE, app: agent },
      callId: FRESH.llmCallId,
      llmHost: LLM_HOST,
    });
    const a = mustAllow(allow(p));
    assert.deepEqual(a.headersToSet, [{ key: 'x-litellm-call-id', value: FRESH.llmCallId, overwrite: true }]);
    assert.deepEqual(a.headersToRemove, []);
  });

  it('needs a call id', () => {
    const request = req('POST', '/v1/chat/completions', { host: LLM_HOST, headers: WITH_TRACE, body: '{}' });
    mustDeny(run({ request, source: agent, fresh: { ...FRESH, llmCallId: '' } }), 'internal_error');
  });
});

describe('plan: destinations that verify no token', () => {
  it('agent → client: the app’s Authorization is stripped, nothing injected', () => {
    const p = mustPlan(
      run({
        request: a2a({ ...WITH_TRACE, authorization: 'Bearer leak' }),
        source: agent,
        destination: client,
      }),
    );
    assert.equal(p.direction, 'outbound');
    assert.deepEqual(mustAllow(allow(p)).headersToRemove, ['authorization']);
  });

  it('to a host that is no MAS app: denied by default', () => {
    mustDeny(run({ request: a2a(WITH_TRACE), source: agent }), 'unknown_workload');
  });

  it('to a host that is no MAS app: passed through untouched when configured', () => {
    const cfg = createPolicyConfig({ unmanagedDestination: 'passthrough' });
    const p = mustPlan(
      plan({
        request: a2a({ ...WITH_TRACE, authorization: 'Bearer ext-key' }),
        source: agent,
        config: cfg,
        fresh: FRESH,
      }),
    );
    assert.deepEqual(p.outbound, { kind: 'passthrough', source: agent });
    assert.deepEqual(mustAllow(allow(p)), { kind: 'allow', headersToSet: [], headersToRemove: [] });
  });

  it('the public agent card needs no token either way, and no trace', () => {
    const p = mustPlan(
      run({
        request: req('GET', '/.well-known/agent-card.json', { headers: { authorization: 'Bearer x' } }),
        source: client,
        destination: agent,
      }),
    );
    assert.deepEqual(p.outbound, { kind: 'strip', source: client, why: 'public_card' });
    assert.deepEqual(p.inbound, { kind: 'public_card', destination: agent });
    assert.equal(p.traceparent, undefined);
    assert.deepEqual(mustAllow(allow(p)).headersToRemove, ['authorization']);
    const inboundOnly = mustPlan(
      run({ request: req('GET', '/.well-known/agent.json'), destination: entryAgent }),
    );
    assert.equal(inboundOnly.inbound?.kind, 'public_card');
  });

  it('with publicAgentCard off, the card is a protected resource', () => {
    const cfg = createPolicyConfig({ publicAgentCard: false });
    mustDeny(
      plan({
        request: req('GET', '/.well-known/agent-card.json'),
        destination: agent,
        config: cfg,
        fresh: FRESH,
      }),
      'missing_token',
    );
    mustDeny(
      plan({
        request: req('GET', '/.well-known/agent-card.json'),
        destination: entryAgent,
        config: cfg,
        fresh: FRESH,
      }),
      'body_required',
    );
  });
});

describe('plan: one side only (Istio sidecars)', () => {
  const other = endpoint('planner', 'agent');

  it('only outbound: the destination is the exchange target, no inbound step', () => {
    const p = mustPlan(
      run({ request: a2a(WITH_TRACE), source: agent, destination: other, only: 'outbound' }),
    );
    assert.equal(p.direction, 'outbound');
    assert.equal(p.inbound, undefined);
    assert.deepEqual(mustAllow(allow(p, { outboundToken: 'T2' })).headersToRemove, []);
  });

  it('only outbound still applies the callee’s protocol row', () => {
    mustDeny(
      run({ request: a2a(WITH_TRACE), source: agent, destination: mcpServer, only: 'outbound' }),
      'protocol_violation',
    );
  });

  it('only inbound: the source is ignored', () => {
    const p = mustPlan(
      run({
        request: a2a({ ...WITH_TRACE, ...BEARER }),
        source: mcpServer,
        destination: agent,
        only: 'inbound',
      }),
    );
    assert.equal(p.direction, 'inbound');
  });
});

describe('denyBody', () => {
  it('is {"error": reason, "message": …}', () => {
    const d = mustDeny(run({ request: req('GET', '/admin'), destination: agent }), 'protocol_violation');
    assert.deepEqual(JSON.parse(denyBody(d)), { error: 'protocol_violation', message: d.message });
  });

  it('never echoes a token', () => {
    const secret = 'eyJzZWNyZXQiOiJ0b2tlbiJ9';
    for (const headers of [
      { authorization: `Bearer ${secret},Bearer x` },
      { authorization: `Bearer ${secret} x` },
      { authorization: `Basic ${secret}` },
    ]) {
      const d = run({ request: a2a({ ...WITH_TRACE, ...headers }), destination: agent });
      assert.equal(d.kind, 'deny');
      assert.ok(!denyBody(d as Deny).includes(secret));
    }
  });
});

describe('plan: deny order', () => {
  it('the source’s row comes before reading an entry point’s prompt', () => {
    denies(
      run({ request: req('POST', '/chat', { body: 'garbage' }), source: mcpServer, destination: entryAgent }),
      'protocol_violation',
    );
  });

  it('a caller that may call the prompt API gets the prompt reason', () => {
    denies(
      run({ request: req('POST', '/chat', { body: 'garbage' }), source: client, destination: entryAgent }),
      'body_invalid',
    );
  });

  it('the gate comes before trace context', () => {
    denies(
      run({ request: req('GET', '/admin'), source: agent, destination: endpoint('planner', 'agent') }),
      'protocol_violation',
    );
  });

  it('trace context comes before the body check of an MCP server', () => {
    const request = req('POST', '/mcp', {
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/call"',
      truncated: true,
    });
    denies(run({ request, source: agent, destination: mcpServer }), 'missing_trace_context');
  });
});
