// Issue 3, the other half: arbitrary HTTP is not MCP or A2A. Every request
// below is `other` (with the reason src/policy/README.md documents) and the
// gate refuses it wherever it applies. Each one is sent through the recording
// proxy to a catch-all server first, so the policy sees exactly what a real
// HTTP client put on the wire (and what Envoy would hand to ext_authz).
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { classify, DEFAULT_PROTOCOL_PATTERNS } from '../../../src/policy/index.js';
import { RecordingProxy, toAttributes } from '../../support/sdk-recorder.js';
import { assertRefused } from './gate-check.js';

interface Row {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
  /** The `why` of README "Classification". */
  readonly why: string;
}

const rpc = (method: string, params: unknown = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
const JSON_CT = { 'content-type': 'application/json' };
const GRAPHQL = JSON.stringify({ query: '{ users { id name } }', variables: {} });

const ROWS: readonly Row[] = [
  // Ordinary web traffic.
  {
    name: 'REST JSON API: GET a collection',
    method: 'GET',
    path: '/api/v1/users?page=2',
    why: 'unknown_route',
  },
  {
    name: 'REST JSON API: POST an order',
    method: 'POST',
    path: '/api/orders',
    headers: JSON_CT,
    body: '{"item":"book","qty":1}',
    why: 'unknown_route',
  },
  {
    name: 'HTML form post',
    method: 'POST',
    path: '/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'user=ada&password=hunter2',
    why: 'unknown_route',
  },
  {
    name: 'HTML page at the root (the A2A JSON-RPC path takes only POST)',
    method: 'GET',
    path: '/',
    why: 'method_not_allowed',
  },
  {
    name: 'GraphQL at /graphql',
    method: 'POST',
    path: '/graphql',
    headers: JSON_CT,
    body: GRAPHQL,
    why: 'unknown_route',
  },
  {
    name: 'GraphQL posted to / (an A2A JSON-RPC path)',
    method: 'POST',
    path: '/',
    headers: JSON_CT,
    body: GRAPHQL,
    why: 'not_json_rpc',
  },
  {
    name: 'GraphQL posted to /mcp',
    method: 'POST',
    path: '/mcp',
    headers: JSON_CT,
    body: GRAPHQL,
    why: 'not_json_rpc',
  },
  {
    name: 'gRPC-web call of A2A’s gRPC binding (not a binding the gate knows)',
    method: 'POST',
    path: '/a2a.v1.A2AService/SendMessage',
    headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
    body: new Uint8Array([0, 0, 0, 0, 3, 10, 1, 104]),
    why: 'unknown_route',
  },
  {
    name: 'gRPC-web to the root',
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/grpc-web+proto' },
    body: new Uint8Array([0, 0, 0, 0, 2, 8, 1]),
    why: 'not_json_rpc',
  },
  // Wrong content types: not JSON at all on the JSON-RPC endpoints.
  {
    name: 'form-encoded "JSON-RPC" to /mcp',
    method: 'POST',
    path: '/mcp',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'jsonrpc=2.0&id=1&method=tools%2Fcall&params[name]=delete_all',
    why: 'not_json_rpc',
  },
  {
    name: 'XML-RPC to /mcp',
    method: 'POST',
    path: '/mcp',
    headers: { 'content-type': 'text/xml' },
    body: '<?xml version="1.0"?><methodCall><methodName>tools/call</methodName></methodCall>',
    why: 'not_json_rpc',
  },
  {
    name: 'multipart upload to /messages',
    method: 'POST',
    path: '/messages?sessionId=x',
    headers: { 'content-type': 'multipart/form-data; boundary=b' },
    body: '--b\r\nContent-Disposition: form-data; name="f"\r\n\r\nx\r\n--b--\r\n',
    why: 'not_json_rpc',
  },
  // JSON-RPC that is not MCP (or not JSON-RPC 2.0).
  {
    name: 'unknown method to /mcp',
    method: 'POST',
    path: '/mcp',
    headers: JSON_CT,
    body: rpc('admin/shutdown'),
    why: 'unknown_method',
  },
  {
    name: 'JSON-RPC 1.0 shape (no "jsonrpc": "2.0") to /mcp',
    method: 'POST',
    path: '/mcp',
    headers: JSON_CT,
    body: '{"method":"tools/list","params":[],"id":1}',
    why: 'not_json_rpc',
  },
  {
    name: 'duplicate "method" keys (parsers disagree which wins)',
    method: 'POST',
    path: '/mcp',
    headers: JSON_CT,
    body: '{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"admin/shutdown"}',
    why: 'not_json_rpc',
  },
  {
    name: 'JSON that is not an object',
    method: 'POST',
    path: '/mcp',
    headers: JSON_CT,
    body: '[1,2,3]',
    why: 'not_json_rpc',
  },
  {
    name: 'empty POST to /mcp',
    method: 'POST',
    path: '/mcp',
    headers: JSON_CT,
    body: '',
    why: 'body_required',
  },
  {
    name: 'tools/call without params.name',
    method: 'POST',
    path: '/mcp',
    headers: JSON_CT,
    body: rpc('tools/call', { arguments: {} }),
    why: 'mcp_tool_name_missing',
  },
  {
    name: 'a server→client request (sampling) posted by a client',
    method: 'POST',
    path: '/mcp',
    headers: JSON_CT,
    body: rpc('sampling/createMessage', { messages: [], maxTokens: 1 }),
    why: 'unknown_method',
  },
  {
    name: 'batch after 2025-06-18 (batching was removed)',
    method: 'POST',
    path: '/mcp',
    headers: { ...JSON_CT, 'mcp-protocol-version': '2025-06-18' },
    body: `[${rpc('tools/list')},${rpc('ping')}]`,
    why: 'batch_not_allowed',
  },
  {
    name: 'an A2A method on the MCP endpoint',
    method: 'POST',
    path: '/mcp',
    headers: JSON_CT,
    body: rpc('message/send'),
    why: 'unknown_method',
  },
  {
    name: 'an MCP-only method on an A2A endpoint',
    method: 'POST',
    path: '/a2a',
    headers: JSON_CT,
    body: rpc('tools/call', { name: 'x' }),
    why: 'unknown_method',
  },
  // Right path, wrong verb.
  {
    name: 'PUT /mcp',
    method: 'PUT',
    path: '/mcp',
    headers: JSON_CT,
    body: rpc('tools/list'),
    why: 'method_not_allowed',
  },
  { name: 'DELETE /mcp without a session', method: 'DELETE', path: '/mcp', why: 'session_required' },
  {
    name: 'GET /messages (the 2024-11-05 POST endpoint)',
    method: 'GET',
    path: '/messages',
    why: 'method_not_allowed',
  },
  {
    name: 'POST /sse',
    method: 'POST',
    path: '/sse',
    headers: JSON_CT,
    body: rpc('ping'),
    why: 'method_not_allowed',
  },
  {
    name: 'POST to the agent card',
    method: 'POST',
    path: '/.well-known/agent-card.json',
    body: '{}',
    why: 'method_not_allowed',
  },
  { name: 'GET /message:send', method: 'GET', path: '/message:send', why: 'method_not_allowed' },
  {
    name: 'PATCH /v1/tasks/t1',
    method: 'PATCH',
    path: '/v1/tasks/t1',
    body: '{}',
    why: 'method_not_allowed',
  },
  // Path tricks: the gate reads a normalized path, so none of these reach an MCP/A2A route.
  {
    name: '/mcp/../admin',
    method: 'POST',
    path: '/mcp/../admin',
    headers: JSON_CT,
    body: rpc('tools/list'),
    why: 'invalid_path',
  },
  {
    name: '/MCP%2f..%2fadmin (encoded slashes and dot-segment)',
    method: 'POST',
    path: '/MCP%2f..%2fadmin',
    headers: JSON_CT,
    body: rpc('tools/list'),
    why: 'invalid_path',
  },
  {
    name: '//mcp with a GraphQL body (//mcp is /mcp: the body decides)',
    method: 'POST',
    path: '//mcp',
    headers: JSON_CT,
    body: GRAPHQL,
    why: 'not_json_rpc',
  },
  {
    name: '/mcp%252f..%252fadmin (double encoding)',
    method: 'POST',
    path: '/mcp%252f..%252fadmin',
    headers: JSON_CT,
    body: rpc('tools/list'),
    why: 'invalid_path',
  },
  {
    name: '/mcp%00 (NUL)',
    method: 'POST',
    path: '/mcp%00',
    headers: JSON_CT,
    body: rpc('tools/list'),
    why: 'invalid_path',
  },
  {
    name: '/mcp%5c..%5cadmin (encoded backslashes)',
    method: 'POST',
    path: '/mcp%5c..%5cadmin',
    headers: JSON_CT,
    body: rpc('tools/list'),
    why: 'invalid_path',
  },
  {
    name: '/mcp;jsessionid=1 (matrix parameter)',
    method: 'POST',
    path: '/mcp;jsessionid=1',
    headers: JSON_CT,
    body: rpc('ping'),
    why: 'unknown_route',
  },
  {
    name: '/mcp-admin',
    method: 'POST',
    path: '/mcp-admin',
    headers: JSON_CT,
    body: rpc('ping'),
    why: 'unknown_route',
  },
  {
    name: '/mcp/admin',
    method: 'POST',
    path: '/mcp/admin',
    headers: JSON_CT,
    body: rpc('ping'),
    why: 'unknown_route',
  },
  { name: '/sse/../admin', method: 'GET', path: '/sse/../admin', why: 'invalid_path' },
  {
    name: '/.well-known/agent-card.json.bak',
    method: 'GET',
    path: '/.well-known/agent-card.json.bak',
    why: 'unknown_route',
  },
  {
    name: '/v1/tasks/t1/../../../admin',
    method: 'GET',
    path: '/v1/tasks/t1/../../../admin',
    why: 'invalid_path',
  },
  {
    name: '/%2e%2e/%2e%2e/etc/passwd',
    method: 'GET',
    path: '/%2e%2e/%2e%2e/etc/passwd',
    why: 'invalid_path',
  },
  {
    name: 'absolute-form request-target (forward-proxy style)',
    method: 'POST',
    path: 'http://files.conformance:8000/mcp',
    headers: JSON_CT,
    body: rpc('tools/list'),
    why: 'invalid_path',
  },
];

/** A server that answers everything 404, so each request completes normally through the proxy. */
async function catchAll(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(404, { 'content-type': 'text/plain' }).end('no'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Sends one raw request (the path exactly as given: fetch would normalize it) and waits for the answer. */
function send(base: string, row: Row): Promise<number> {
  const u = new URL(base);
  const body =
    row.body === undefined
      ? undefined
      : typeof row.body === 'string'
        ? Buffer.from(row.body)
        : Buffer.from(row.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: row.method,
        path: row.path,
        headers: { ...row.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('arbitrary HTTP is not MCP or A2A, and the gate refuses it', () => {
  let proxy: RecordingProxy;
  let upstream: { server: Server; url: string };
  before(async () => {
    proxy = await RecordingProxy.start();
    upstream = await catchAll();
    proxy.forwardTo(upstream.url);
  });
  after(async () => {
    await proxy?.close();
    await new Promise<void>((resolve) => {
      upstream?.server.close(() => resolve());
      upstream?.server.closeAllConnections();
    });
  });

  for (const row of ROWS) {
    it(`${row.name} → other (${row.why})`, async () => {
      const from = proxy.requests.length;
      assert.equal(await send(proxy.url, row), 404);
      const [r] = proxy.since(from);
      assert.ok(r, 'the proxy recorded the request');
      assert.equal(r.path, row.path, 'recorded as sent');
      const req = toAttributes(r);
      const c = classify(req, {}, DEFAULT_PROTOCOL_PATTERNS);
      assert.equal(c.protocol, 'other', `${c.why} ${c.detail ?? ''}`);
      assert.equal(c.why, row.why, c.detail);
      assertRefused(req, row.name);
    });
  }
});

// Decisions documented in src/policy/README.md that a reader might expect the
// other way; kept here so that changing one is a visible decision.
describe('documented decisions at the edge of "arbitrary HTTP"', () => {
  const attrs = (method: string, path: string, headers: Record<string, string>, body?: string) => ({
    method,
    path,
    host: 'files.conformance:8000',
    headers: new Map(Object.entries({ ':authority': 'files.conformance:8000', ...headers })),
    body: body === undefined ? undefined : { data: new TextEncoder().encode(body), truncated: false },
  });

  it('Content-Type does not decide, the body does: a JSON-RPC MCP body sent as text/plain is MCP', () => {
    const c = classify(
      attrs('POST', '/mcp', { 'content-type': 'text/plain' }, rpc('tools/list')),
      {},
      DEFAULT_PROTOCOL_PATTERNS,
    );
    assert.equal(c.protocol, 'mcp');
  });

  it('//mcp is /mcp (duplicate slashes are dropped before matching)', () => {
    const c = classify(attrs('POST', '//mcp', JSON_CT, rpc('tools/list')), {}, DEFAULT_PROTOCOL_PATTERNS);
    assert.equal(c.protocol, 'mcp');
  });

  it('A2A v1.0 REST lives at the root: any GET /tasks/{id} is A2A GetTask', () => {
    const c = classify(attrs('GET', '/tasks/123', {}), {}, DEFAULT_PROTOCOL_PATTERNS);
    assert.equal(c.protocol, 'a2a');
    assert.equal(c.a2a?.method, 'GetTask');
  });
});
