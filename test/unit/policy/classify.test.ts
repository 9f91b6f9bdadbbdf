// Protocol classification: every MCP transport revision, every A2A binding
// and generation, LLM egress, and the spellings and bodies that must not pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type Classification,
  type ClassifyOptions,
  classify,
  decodeMcpHeader,
} from '../../../src/policy/classify.js';
import {
  compileProtocolPatterns,
  DEFAULT_PROTOCOL_PATTERNS,
  DEFAULT_PROTOCOL_PATTERNS_SPEC,
} from '../../../src/policy/patterns.js';
import type { HttpRequestAttributes } from '../../../src/policy/request.js';
import { LLM_HOST, req, rpc } from './fixtures.js';

const V = { 'mcp-protocol-version': '2025-06-18' };
const call = (name: unknown) => rpc('tools/call', { name, arguments: { city: 'Oslo' } });
const b64 = (s: string) => `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;

interface Row {
  name: string;
  r: HttpRequestAttributes;
  want: Partial<Classification> & { protocol: Classification['protocol'] };
  mcp?: Record<string, unknown>;
  a2a?: Record<string, unknown>;
  opts?: ClassifyOptions;
}

function check(rows: Row[]): void {
  for (const row of rows) {
    it(row.name, () => {
      const c = classify(row.r, row.opts ?? { llmHost: LLM_HOST }, DEFAULT_PROTOCOL_PATTERNS);
      assert.equal(c.protocol, row.want.protocol, JSON.stringify(c));
      if (row.want.why) assert.equal(c.why, row.want.why, JSON.stringify(c));
      for (const [k, v] of Object.entries(row.mcp ?? {}))
        assert.deepEqual(c.mcp?.[k as keyof typeof c.mcp], v, k);
      for (const [k, v] of Object.entries(row.a2a ?? {}))
        assert.deepEqual(c.a2a?.[k as keyof typeof c.a2a], v, k);
    });
  }
}

describe('classify: MCP 2024-11-05 HTTP+SSE', () => {
  check([
    {
      name: 'GET /sse opens the event stream',
      r: req('GET', '/sse', { headers: { accept: 'text/event-stream' } }),
      want: { protocol: 'mcp', why: 'mcp_sse_stream' },
      mcp: { transport: 'http+sse', revision: '2024-11-05' },
    },
    {
      name: 'POST /messages?sessionId=… carries a tools/call',
      r: req('POST', '/messages?sessionId=abc', { body: call('get_weather') }),
      want: { protocol: 'mcp', why: 'mcp_sse_message' },
      mcp: { transport: 'http+sse', methods: ['tools/call'], tools: ['get_weather'], toolCall: true },
    },
    {
      name: 'POST /sse is not a method of the stream',
      r: req('POST', '/sse', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'method_not_allowed' },
    },
    {
      name: 'GET /messages is not a method of the message endpoint',
      r: req('GET', '/messages'),
      want: { protocol: 'other', why: 'method_not_allowed' },
    },
  ]);
});

describe('classify: MCP Streamable HTTP (2025-03-26, 2025-06-18)', () => {
  check([
    {
      name: 'POST /mcp initialize (no version header yet)',
      r: req('POST', '/mcp', {
        body: rpc('initialize', { protocolVersion: '2025-06-18', capabilities: {} }),
      }),
      want: { protocol: 'mcp', why: 'mcp_streamable_http' },
      mcp: {
        transport: 'streamable-http',
        revision: '2025-03-26',
        methods: ['initialize'],
        toolCall: false,
        complete: true,
        from: 'body',
      },
    },
    {
      name: 'POST /mcp tools/call with MCP-Protocol-Version',
      r: req('POST', '/mcp', { headers: { ...V, 'mcp-session-id': 's1' }, body: call('get_weather') }),
      want: { protocol: 'mcp' },
      mcp: { revision: '2025-06-18', tools: ['get_weather'], toolCall: true },
    },
    {
      name: 'notifications/initialized',
      r: req('POST', '/mcp', { body: { jsonrpc: '2.0', method: 'notifications/initialized' } }),
      want: { protocol: 'mcp' },
      mcp: { methods: ['notifications/initialized'] },
    },
    {
      name: 'a client response to a server request (sampling result)',
      r: req('POST', '/mcp', { body: { jsonrpc: '2.0', id: 3, result: { content: [] } } }),
      want: { protocol: 'mcp' },
      mcp: { methods: [] },
    },
    {
      name: 'a client error response',
      r: req('POST', '/mcp', { body: { jsonrpc: '2.0', id: 3, error: { code: -1, message: 'no' } } }),
      want: { protocol: 'mcp' },
    },
    {
      name: '2025-03-26 batch of requests',
      r: req('POST', '/mcp', { body: [rpc('tools/list'), call('a'), call('b'), call('a')] }),
      want: { protocol: 'mcp' },
      mcp: {
        batch: true,
        methods: ['tools/list', 'tools/call', 'tools/call', 'tools/call'],
        tools: ['a', 'b'],
      },
    },
    {
      name: 'batch with MCP-Protocol-Version 2025-06-18 (batching removed)',
      r: req('POST', '/mcp', { headers: V, body: [rpc('ping')] }),
      want: { protocol: 'other', why: 'batch_not_allowed' },
    },
    {
      name: 'GET /mcp opens the server stream',
      r: req('GET', '/mcp', { headers: { ...V, accept: 'text/event-stream' } }),
      want: { protocol: 'mcp' },
      mcp: { revision: '2025-06-18', methods: [] },
    },
    {
      name: 'DELETE /mcp ends a session',
      r: req('DELETE', '/mcp', { headers: { 'mcp-session-id': 's1' } }),
      want: { protocol: 'mcp' },
    },
    {
      name: 'DELETE /mcp without a session',
      r: req('DELETE', '/mcp'),
      want: { protocol: 'other', why: 'session_required' },
    },
    {
      name: 'PUT /mcp',
      r: req('PUT', '/mcp', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'method_not_allowed' },
    },
    {
      name: 'POST /mcp without a body',
      r: req('POST', '/mcp'),
      want: { protocol: 'other', why: 'body_required' },
    },
    {
      name: 'POST /mcp with a non-JSON body',
      r: req('POST', '/mcp', { body: 'hello' }),
      want: { protocol: 'other', why: 'not_json_rpc' },
    },
    {
      name: 'POST /mcp with plain JSON that is not JSON-RPC',
      r: req('POST', '/mcp', { body: { prompt: 'hi' } }),
      want: { protocol: 'other', why: 'not_json_rpc' },
    },
    {
      name: 'POST /mcp with an unknown method',
      r: req('POST', '/mcp', { body: rpc('admin/delete') }),
      want: { protocol: 'other', why: 'unknown_method' },
    },
    {
      name: 'POST /mcp with an A2A method',
      r: req('POST', '/mcp', { body: rpc('message/send', { message: {} }) }),
      want: { protocol: 'other', why: 'unknown_method' },
    },
    {
      name: 'tools/call without a string name',
      r: req('POST', '/mcp', { body: call(42) }),
      want: { protocol: 'other', why: 'mcp_tool_name_missing' },
    },
    {
      name: 'tools/call without params',
      r: req('POST', '/mcp', { body: rpc('tools/call') }),
      want: { protocol: 'other', why: 'mcp_tool_name_missing' },
    },
    {
      name: 'duplicate method keys (smuggling) are not JSON-RPC',
      r: req('POST', '/mcp', {
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"x"}}',
      }),
      want: { protocol: 'other', why: 'not_json_rpc' },
    },
    {
      name: 'a cut tools/call body is MCP but incomplete (tool is a hint)',
      r: req('POST', '/mcp', {
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"q":"aaa',
        truncated: true,
      }),
      want: { protocol: 'mcp' },
      mcp: { complete: false, tools: ['x'], toolCall: true },
    },
    {
      name: 'a body cut before the method is MCP by path, with nothing known',
      r: req('POST', '/mcp', { body: '{"jsonrpc":"2.0","id":1,"pa', truncated: true }),
      want: { protocol: 'mcp' },
      mcp: { complete: false, methods: [], toolCall: false },
    },
    {
      name: '2025-11-25 tasks/get on the MCP endpoint',
      r: req('POST', '/mcp', {
        headers: { 'mcp-protocol-version': '2025-11-25' },
        body: rpc('tasks/get', { taskId: 't' }),
      }),
      want: { protocol: 'mcp' },
    },
  ]);
});

describe('classify: MCP 2026-07-28 stateless headers (SEP-2243)', () => {
  const H = (method: string, name?: string) => ({
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': method,
    ...(name === undefined ? {} : { 'mcp-name': name }),
  });
  check([
    {
      name: 'headers agree with the body',
      r: req('POST', '/mcp', { headers: H('tools/call', 'get_weather'), body: call('get_weather') }),
      want: { protocol: 'mcp' },
      mcp: { revision: '2026-07-28', tools: ['get_weather'], from: 'body' },
    },
    {
      name: 'Mcp-Method without a version header still reads as 2026-07-28',
      r: req('POST', '/mcp', { headers: { 'mcp-method': 'server/discover' }, body: rpc('server/discover') }),
      want: { protocol: 'mcp' },
      mcp: { revision: '2026-07-28' },
    },
    {
      name: 'Mcp-Method differs from the body method',
      r: req('POST', '/mcp', { headers: H('tools/list'), body: call('rm_rf') }),
      want: { protocol: 'other', why: 'mcp_header_mismatch' },
    },
    {
      name: 'Mcp-Name spoofs a harmless tool',
      r: req('POST', '/mcp', { headers: H('tools/call', 'get_weather'), body: call('rm_rf') }),
      want: { protocol: 'other', why: 'mcp_header_mismatch' },
    },
    {
      name: 'Base64-sentinel Mcp-Name matching a non-ASCII name',
      r: req('POST', '/mcp', { headers: H('tools/call', b64('météo')), body: call('météo') }),
      want: { protocol: 'mcp' },
      mcp: { tools: ['météo'] },
    },
    {
      name: 'Base64-sentinel Mcp-Name that does not decode',
      r: req('POST', '/mcp', { headers: H('tools/call', '=?base64?%%%?='), body: call('x') }),
      want: { protocol: 'other', why: 'mcp_header_mismatch' },
    },
    {
      name: 'resources/read: Mcp-Name mirrors params.uri',
      r: req('POST', '/mcp', {
        headers: H('resources/read', 'file:///a'),
        body: rpc('resources/read', { uri: 'file:///a' }),
      }),
      want: { protocol: 'mcp' },
    },
    {
      name: 'resources/read: Mcp-Name differs from params.uri',
      r: req('POST', '/mcp', {
        headers: H('resources/read', 'file:///a'),
        body: rpc('resources/read', { uri: 'file:///etc/shadow' }),
      }),
      want: { protocol: 'other', why: 'mcp_header_mismatch' },
    },
    {
      name: 'Mcp-Method on a batch body',
      r: req('POST', '/mcp', { headers: { 'mcp-method': 'ping' }, body: [rpc('ping')] }),
      want: { protocol: 'other', why: 'mcp_header_mismatch' },
    },
    {
      name: 'Mcp-Method on a response body',
      r: req('POST', '/mcp', { headers: H('ping'), body: { jsonrpc: '2.0', id: 1, result: {} } }),
      want: { protocol: 'other', why: 'mcp_header_mismatch' },
    },
    {
      name: 'headers only (body not sent to the agent): tools/call with Mcp-Name',
      r: req('POST', '/mcp', { headers: H('tools/call', 'get_weather') }),
      want: { protocol: 'mcp' },
      mcp: { from: 'headers', tools: ['get_weather'], toolCall: true },
    },
    {
      name: 'headers only: tools/call without Mcp-Name',
      r: req('POST', '/mcp', { headers: H('tools/call') }),
      want: { protocol: 'other', why: 'mcp_name_missing' },
    },
    {
      name: 'headers only: unknown method',
      r: req('POST', '/mcp', { headers: H('admin/wipe') }),
      want: { protocol: 'other', why: 'unknown_method' },
    },
    {
      name: 'a cut body whose method hint disagrees with Mcp-Method',
      r: req('POST', '/mcp', {
        headers: H('tools/list'),
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"na',
        truncated: true,
      }),
      want: { protocol: 'other', why: 'mcp_header_mismatch' },
    },
  ]);
});

describe('classify: path spellings cannot smuggle a route', () => {
  check([
    { name: '/mcp/', r: req('POST', '/mcp/', { body: rpc('ping') }), want: { protocol: 'mcp' } },
    { name: '/MCP', r: req('POST', '/MCP', { body: rpc('ping') }), want: { protocol: 'mcp' } },
    { name: '//mcp', r: req('POST', '//mcp', { body: rpc('ping') }), want: { protocol: 'mcp' } },
    { name: '/%6Dcp', r: req('POST', '/%6Dcp', { body: rpc('ping') }), want: { protocol: 'mcp' } },
    // Dot-segments (plain, encoded, behind an encoded slash) are refused: servers
    // disagree on them (express routes /admin/../mcp to /admin/*).
    {
      name: '/admin/../mcp',
      r: req('POST', '/admin/../mcp', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'invalid_path' },
    },
    {
      name: '/admin/%2e%2e/mcp',
      r: req('POST', '/admin/%2e%2e/mcp', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'invalid_path' },
    },
    {
      name: '/./mcp',
      r: req('POST', '/./mcp', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'invalid_path' },
    },
    {
      name: '/mcp/../admin',
      r: req('POST', '/mcp/../admin', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'invalid_path' },
    },
    {
      name: '/mcp%2F..%2Fadmin',
      r: req('POST', '/mcp%2F..%2Fadmin', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'invalid_path' },
    },
    {
      name: '/mcp/%2e%2e/admin',
      r: req('POST', '/mcp/%2e%2e/admin', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'invalid_path' },
    },
    {
      name: '/mcp/.well (a dotted name is not a dot-segment)',
      r: req('POST', '/mcp/.well', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'unknown_route' },
    },
    {
      name: '/mcp%252f..%252fadmin (double encoding)',
      r: req('POST', '/mcp%252f..%252fadmin', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'invalid_path' },
    },
    {
      name: '/mcp\\..\\admin (backslash)',
      r: req('POST', '/mcp\\..\\admin', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'invalid_path' },
    },
    {
      name: '/mcp%00',
      r: req('POST', '/mcp%00', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'invalid_path' },
    },
    {
      name: '/mcpx',
      r: req('POST', '/mcpx', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'unknown_route' },
    },
    {
      name: '/mcp;jsessionid=1',
      r: req('POST', '/mcp;jsessionid=1', { body: rpc('ping') }),
      want: { protocol: 'other', why: 'unknown_route' },
    },
  ]);
});

describe('classify: A2A cards and JSON-RPC (v0.2, v0.3, v1.0)', () => {
  check([
    {
      name: 'v0.2 card /.well-known/agent.json',
      r: req('GET', '/.well-known/agent.json'),
      want: { protocol: 'a2a', why: 'a2a_card' },
      a2a: { binding: 'card', version: '0.2' },
    },
    {
      name: 'v0.3+ card /.well-known/agent-card.json',
      r: req('GET', '/.well-known/agent-card.json'),
      want: { protocol: 'a2a', why: 'a2a_card' },
    },
    { name: 'HEAD of a card', r: req('HEAD', '/.well-known/agent-card.json'), want: { protocol: 'a2a' } },
    {
      name: 'POST to a card',
      r: req('POST', '/.well-known/agent-card.json', { body: '{}' }),
      want: { protocol: 'other', why: 'method_not_allowed' },
    },
    {
      name: 'v0.2 tasks/send',
      r: req('POST', '/', { body: rpc('tasks/send', { id: 't', message: {} }) }),
      want: { protocol: 'a2a', why: 'a2a_jsonrpc' },
      a2a: { method: 'tasks/send', version: '0.2' },
    },
    {
      name: 'v0.2 tasks/sendSubscribe',
      r: req('POST', '/', { body: rpc('tasks/sendSubscribe', { id: 't' }) }),
      want: { protocol: 'a2a' },
      a2a: { version: '0.2' },
    },
    {
      name: 'v0.2 tasks/pushNotification/set',
      r: req('POST', '/', { body: rpc('tasks/pushNotification/set', {}) }),
      want: { protocol: 'a2a' },
    },
    {
      name: 'v0.3 message/send',
      r: req('POST', '/', { body: rpc('message/send', { message: {} }) }),
      want: { protocol: 'a2a' },
      a2a: { binding: 'jsonrpc', method: 'message/send', version: '0.3' },
    },
    {
      name: 'v0.3 message/stream on /a2a',
      r: req('POST', '/a2a', { body: rpc('message/stream', {}) }),
      want: { protocol: 'a2a' },
    },
    {
      name: 'v0.3 tasks/resubscribe',
      r: req('POST', '/', { body: rpc('tasks/resubscribe', { id: 't' }) }),
      want: { protocol: 'a2a' },
    },
    {
      name: 'v0.3 tasks/pushNotificationConfig/list',
      r: req('POST', '/', { body: rpc('tasks/pushNotificationConfig/list', { id: 't' }) }),
      want: { protocol: 'a2a' },
    },
    {
      name: 'v0.3 agent/getAuthenticatedExtendedCard',
      r: req('POST', '/', { body: rpc('agent/getAuthenticatedExtendedCard') }),
      want: { protocol: 'a2a' },
    },
    {
      name: 'v1.0 SendMessage with A2A-Version',
      r: req('POST', '/', { headers: { 'a2a-version': '1.0' }, body: rpc('SendMessage', { message: {} }) }),
      want: { protocol: 'a2a' },
      a2a: { version: '1.0', method: 'SendMessage' },
    },
    {
      name: 'v1.0 SubscribeToTask',
      r: req('POST', '/a2a/v1', { body: rpc('SubscribeToTask', { id: 't' }) }),
      want: { protocol: 'a2a' },
    },
    {
      name: 'v1.0 ListTaskPushNotificationConfigs',
      r: req('POST', '/', { body: rpc('ListTaskPushNotificationConfigs', {}) }),
      want: { protocol: 'a2a' },
    },
    {
      name: 'v1.0 GetExtendedAgentCard',
      r: req('POST', '/', { body: rpc('GetExtendedAgentCard') }),
      want: { protocol: 'a2a' },
    },
    {
      name: 'an MCP method on the A2A endpoint',
      r: req('POST', '/', { body: call('x') }),
      want: { protocol: 'other', why: 'unknown_method' },
    },
    {
      name: 'an A2A/MCP mixed batch',
      r: req('POST', '/', { body: [rpc('message/send', {}), rpc('tools/list')] }),
      want: { protocol: 'other', why: 'mixed_batch' },
    },
    {
      name: 'an unknown method',
      r: req('POST', '/', { body: rpc('message/delete') }),
      want: { protocol: 'other', why: 'unknown_method' },
    },
    {
      name: 'a plain prompt POST to / is not A2A',
      r: req('POST', '/', { body: { prompt: 'hi' } }),
      want: { protocol: 'other', why: 'not_json_rpc' },
    },
    {
      name: 'a JSON-RPC response to the A2A endpoint',
      r: req('POST', '/', { body: { jsonrpc: '2.0', id: 1, result: {} } }),
      want: { protocol: 'other', why: 'unknown_method' },
    },
    {
      name: 'A2A JSON-RPC on an unlisted path',
      r: req('POST', '/admin', { body: rpc('message/send', {}) }),
      want: { protocol: 'other', why: 'unknown_route' },
    },
  ]);
});

describe('classify: A2A REST bindings (v0.3 with /v1, v1.0 without, optional tenant)', () => {
  const rows: [string, string, string, '0.3' | '1.0'][] = [
    ['POST', '/v1/message:send', 'message/send', '0.3'],
    ['POST', '/v1/message:stream', 'message/stream', '0.3'],
    ['GET', '/v1/tasks', 'tasks/list', '0.3'],
    ['GET', '/v1/tasks/abc', 'tasks/get', '0.3'],
    ['POST', '/v1/tasks/abc:cancel', 'tasks/cancel', '0.3'],
    ['GET', '/v1/tasks/abc:subscribe', 'tasks/resubscribe', '0.3'],
    ['POST', '/v1/tasks/abc:subscribe', 'tasks/resubscribe', '0.3'],
    ['POST', '/v1/tasks/abc/pushNotificationConfigs', 'tasks/pushNotificationConfig/set', '0.3'],
    ['GET', '/v1/tasks/abc/pushNotificationConfigs', 'tasks/pushNotificationConfig/list', '0.3'],
    ['GET', '/v1/tasks/abc/pushNotificationConfigs/c1', 'tasks/pushNotificationConfig/get', '0.3'],
    ['DELETE', '/v1/tasks/abc/pushNotificationConfigs/c1', 'tasks/pushNotificationConfig/delete', '0.3'],
    ['GET', '/v1/card', 'agent/getAuthenticatedExtendedCard', '0.3'],
    ['POST', '/message:send', 'SendMessage', '1.0'],
    ['POST', '/message:stream', 'SendStreamingMessage', '1.0'],
    ['GET', '/tasks', 'ListTasks', '1.0'],
    ['GET', '/tasks/abc', 'GetTask', '1.0'],
    ['POST', '/tasks/abc:cancel', 'CancelTask', '1.0'],
    ['GET', '/tasks/abc:subscribe', 'SubscribeToTask', '1.0'],
    ['POST', '/tasks/abc/pushNotificationConfigs', 'CreateTaskPushNotificationConfig', '1.0'],
    ['GET', '/tasks/abc/pushNotificationConfigs', 'ListTaskPushNotificationConfigs', '1.0'],
    ['GET', '/tasks/abc/pushNotificationConfigs/c1', 'GetTaskPushNotificationConfig', '1.0'],
    ['DELETE', '/tasks/abc/pushNotificationConfigs/c1', 'DeleteTaskPushNotificationConfig', '1.0'],
    ['GET', '/extendedAgentCard', 'GetExtendedAgentCard', '1.0'],
    ['POST', '/acme/message:send', 'SendMessage', '1.0'],
    ['GET', '/acme/tasks/abc', 'GetTask', '1.0'],
    ['POST', '/acme/tasks/abc:cancel', 'CancelTask', '1.0'],
    ['GET', '/acme/extendedAgentCard', 'GetExtendedAgentCard', '1.0'],
    ['POST', '/V1/MESSAGE:SEND', 'message/send', '0.3'],
  ];
  check(
    rows.map(([method, path, op, version]) => ({
      name: `${method} ${path} → ${op}`,
      r: req(method, path, method === 'POST' ? { body: '{}' } : {}),
      want: { protocol: 'a2a', why: 'a2a_rest' },
      a2a: { binding: 'rest', method: op, version },
    })),
  );
  check([
    {
      name: 'DELETE /v1/message:send',
      r: req('DELETE', '/v1/message:send'),
      want: { protocol: 'other', why: 'method_not_allowed' },
    },
    {
      name: 'GET /v1/tasks/abc:cancel is the task id "abc:cancel"',
      r: req('GET', '/v1/tasks/abc:cancel'),
      want: { protocol: 'a2a' },
      a2a: { method: 'tasks/get' },
    },
    {
      name: 'POST /v1/tasks/:cancel (empty id)',
      r: req('POST', '/v1/tasks/:cancel'),
      want: { protocol: 'other' },
    },
    {
      name: 'a tenant on a v0.3 route is not a route',
      r: req('POST', '/acme/v1/message:send'),
      want: { protocol: 'other', why: 'unknown_route' },
    },
    {
      name: 'two tenant segments',
      r: req('POST', '/a/b/message:send'),
      want: { protocol: 'other', why: 'unknown_route' },
    },
    {
      name: 'GET /v2/tasks/x/y',
      r: req('GET', '/v2/tasks/x/y'),
      want: { protocol: 'other', why: 'unknown_route' },
    },
  ]);
});

describe('classify: LLM egress and other traffic', () => {
  check([
    {
      name: 'Host equals the MAS llm_host (any path)',
      r: req('POST', '/v1/chat/completions', { host: LLM_HOST }),
      want: { protocol: 'llm', why: 'llm_host' },
    },
    {
      name: 'port stripped, case-insensitive',
      r: req('POST', '/v1/chat/completions', { host: 'LLM.Example.com:443' }),
      want: { protocol: 'llm' },
    },
    {
      name: 'another host is not LLM egress',
      r: req('POST', '/v1/chat/completions', { host: 'evil.example.com' }),
      want: { protocol: 'other', why: 'unknown_route' },
    },
    {
      name: 'no llm_host configured',
      r: req('POST', '/v1/chat/completions', { host: LLM_HOST }),
      want: { protocol: 'other' },
      opts: {},
    },
    { name: 'GET /admin', r: req('GET', '/admin'), want: { protocol: 'other', why: 'unknown_route' } },
    { name: 'GET /healthz', r: req('GET', '/healthz'), want: { protocol: 'other', why: 'unknown_route' } },
  ]);
});

describe('classify: a path that is both an MCP and an A2A endpoint (by configuration)', () => {
  const both = compileProtocolPatterns({
    ...DEFAULT_PROTOCOL_PATTERNS_SPEC,
    mcp: { ...DEFAULT_PROTOCOL_PATTERNS_SPEC.mcp, endpoints: ['/'] },
  });
  const body = rpc('tasks/get', { id: 't' });
  const cases: [string, Record<string, string>, ClassifyOptions, string][] = [
    ['MCP headers decide for MCP', { 'mcp-protocol-version': '2025-11-25' }, {}, 'mcp'],
    ['A2A-Version decides for A2A', { 'a2a-version': '0.3' }, { prefer: 'mcp' }, 'a2a'],
    ['no hints: the destination kind decides (a2a)', {}, { prefer: 'a2a' }, 'a2a'],
    ['no hints: the destination kind decides (mcp)', {}, { prefer: 'mcp' }, 'mcp'],
    ['methods only MCP knows are MCP', {}, { prefer: 'a2a' }, 'mcp'],
  ];
  for (const [name, headers, opts, want] of cases) {
    it(name, () => {
      const b = name.startsWith('methods only') ? rpc('tools/list') : body;
      assert.equal(classify(req('POST', '/', { headers, body: b }), opts, both).protocol, want);
    });
  }
});

describe('decodeMcpHeader', () => {
  it('passes plain values and decodes the base64 sentinel', () => {
    assert.equal(decodeMcpHeader('get_weather'), 'get_weather');
    assert.equal(decodeMcpHeader(b64('日本')), '日本');
    assert.equal(decodeMcpHeader('=?base64?abc?='), undefined);
    assert.equal(decodeMcpHeader('=?base64?YQ=='), undefined);
    assert.equal(decodeMcpHeader(''), undefined);
  });
});

describe('classify: properties', () => {
  const methodArb = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH');
  const pathArb = fc.oneof(
    fc.constantFrom(
      '/mcp',
      '/sse',
      '/messages',
      '/',
      '/a2a',
      '/v1/message:send',
      '/.well-known/agent-card.json',
      '/tasks/x',
    ),
    fc.string({ maxLength: 30 }).map((s) => `/${s}`),
    fc.string({ maxLength: 30 }),
  );
  const bodyArb = fc.option(
    fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.json().map((j) => j),
      fc.constant(JSON.stringify(call('x'))),
    ),
    { nil: undefined },
  );
  it('never throws, and anything not `other` sits on a known endpoint', () => {
    fc.assert(
      fc.property(methodArb, pathArb, bodyArb, fc.boolean(), (method, path, body, truncated) => {
        const c = classify(
          req(method, path, { body, truncated }),
          { llmHost: LLM_HOST },
          DEFAULT_PROTOCOL_PATTERNS,
        );
        if (c.protocol === 'mcp') {
          const p = DEFAULT_PROTOCOL_PATTERNS.mcp;
          assert.ok(
            p.endpoints.has(c.path) || p.sseEndpoints.has(c.path) || p.messageEndpoints.has(c.path),
            c.path,
          );
        }
        if (c.protocol === 'mcp' && c.mcp?.toolCall && c.mcp.complete) assert.ok(c.mcp.tools.length > 0);
        if (c.protocol === 'a2a' && c.a2a?.binding === 'jsonrpc')
          assert.ok(DEFAULT_PROTOCOL_PATTERNS.a2a.jsonRpcPaths.has(c.path));
      }),
      { numRuns: 3000 },
    );
  });

  it('a POST to /mcp is MCP only when its body is JSON-RPC with MCP methods', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        const c = classify(req('POST', '/mcp', { body: text }), {}, DEFAULT_PROTOCOL_PATTERNS);
        if (c.protocol !== 'mcp') return;
        const v = JSON.parse(text) as unknown;
        const list = Array.isArray(v) ? v : [v];
        for (const m of list as Record<string, unknown>[]) {
          assert.equal(m.jsonrpc, '2.0');
          if (typeof m.method === 'string') assert.ok(DEFAULT_PROTOCOL_PATTERNS.mcp.methods.has(m.method));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
