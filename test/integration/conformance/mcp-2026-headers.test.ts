// MCP 2026-07-28 (SEP-2243): clients mirror the JSON-RPC method into
// `Mcp-Method` on every POST, and `params.name` / `params.uri` into `Mcp-Name`
// for tools/call, prompts/get and resources/read|subscribe|unsubscribe (base64
// sentinel `=?base64?…?=` for values that are not safe header text).
//
// The installed @modelcontextprotocol/sdk 1.32.2 does NOT send these headers
// (its Streamable HTTP client never sets them; typescript-sdk#2176). So these
// requests are synthesized per the SEP from the requests the real SDK client
// recorded: the same bytes, plus the headers a 2026-07-28 client adds — with
// the body (as Envoy sends it when `with_request_body` is on) and without it
// (what ext_authz sees when the body is not buffered).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { classify, createPolicyConfig, DEFAULT_PROTOCOL_PATTERNS, plan } from '../../../src/policy/index.js';
import type { HttpRequestAttributes } from '../../../src/policy/request.js';
import { type RecordedRequest, RecordingProxy, toAttributes } from '../../support/sdk-recorder.js';
import { assertGate, endpoint, FRESH, TRACEPARENT } from './gate-check.js';
import { type McpPeer, runSession, startMcpPeer } from './mcp-peer.js';
import { jsonRpcView } from './rpc-view.js';

const NAMED = new Set([
  'tools/call',
  'prompts/get',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
]);

/** SEP-2243 value encoding: plain when it is safe visible ASCII, else the base64 sentinel. */
function headerValue(v: string): string {
  const safe = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(v) && !v.startsWith('=?base64?');
  return safe ? v : `=?base64?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

/** The headers a 2026-07-28 client sends with this body (none for a response). */
function sep2243(body: Uint8Array): Record<string, string> {
  const [m] = jsonRpcView(body);
  if (m?.method === undefined) return {};
  const h: Record<string, string> = { 'mcp-method': m.method, 'mcp-protocol-version': '2026-07-28' };
  const target = m.method === 'tools/call' || m.method === 'prompts/get' ? m.name : m.uri;
  if (NAMED.has(m.method) && target !== undefined) h['mcp-name'] = headerValue(target);
  return h;
}

function without(req: HttpRequestAttributes): HttpRequestAttributes {
  const { body: _cut, ...rest } = req;
  return rest;
}

function post(headers: Record<string, string>, body?: string): HttpRequestAttributes {
  const h = new Map(
    Object.entries({ ':authority': 'files:8000', 'content-type': 'application/json', ...headers }),
  );
  return {
    method: 'POST',
    path: '/mcp',
    host: 'files:8000',
    headers: h,
    body: body === undefined ? undefined : { data: new TextEncoder().encode(body), truncated: false },
  };
}

describe('MCP 2026-07-28 headers on the SDK’s own requests (synthesized per SEP-2243)', () => {
  let proxy: RecordingProxy;
  let peer: McpPeer;
  let posts: RecordedRequest[];
  before(async () => {
    proxy = await RecordingProxy.start();
    peer = await startMcpPeer('streamable-stateless');
    proxy.forwardTo(peer.url);
    const s = await runSession('streamable-stateless', proxy);
    posts = s.recorded.filter((r) => r.method === 'POST');
  });
  after(async () => {
    await proxy?.close();
    await peer?.close();
  });

  it('SDK 1.32 sends neither Mcp-Method nor Mcp-Name (so the headers below are synthesized)', () => {
    assert.ok(posts.length >= 10);
    for (const r of posts) {
      assert.equal(r.headers.has('mcp-method'), false, r.step);
      assert.equal(r.headers.has('mcp-name'), false, r.step);
    }
  });

  it('body + headers: still MCP, same methods and tools, revision 2026-07-28', () => {
    for (const r of posts) {
      const plain = classify(toAttributes(r), {}, DEFAULT_PROTOCOL_PATTERNS);
      const c = classify(toAttributes(r, sep2243(r.body)), {}, DEFAULT_PROTOCOL_PATTERNS);
      assert.equal(c.protocol, 'mcp', `${r.step}: ${c.why} ${c.detail ?? ''}`);
      assert.deepEqual(c.mcp?.methods, plain.mcp?.methods, r.step);
      assert.deepEqual(c.mcp?.tools, plain.mcp?.tools, r.step);
      assert.equal(c.mcp?.from, 'body', r.step);
      assert.equal(c.mcp?.revision, '2026-07-28', r.step);
    }
  });

  it('headers only (body not sent to ext_authz): MCP from Mcp-Method, the tool from Mcp-Name', () => {
    for (const r of posts) {
      const view = jsonRpcView(r.body)[0];
      if (view?.method === undefined) continue;
      const c = classify(without(toAttributes(r, sep2243(r.body))), {}, DEFAULT_PROTOCOL_PATTERNS);
      assert.equal(c.protocol, 'mcp', `${r.step}: ${c.why} ${c.detail ?? ''}`);
      assert.equal(c.mcp?.from, 'headers', r.step);
      assert.deepEqual(c.mcp?.methods, [view.method], r.step);
      assert.deepEqual(c.mcp?.tools, view.method === 'tools/call' ? [view.name] : [], r.step);
      assertGate(without(toAttributes(r, sep2243(r.body))), 'mcp', `${r.step} (headers only)`);
    }
  });

  it('headers only: tools/call to an MCP server asks for a T3 naming the Mcp-Name tool', () => {
    const call = posts.find((r) => jsonRpcView(r.body)[0]?.method === 'tools/call');
    assert.ok(call);
    const req = without(toAttributes(call, { ...sep2243(call.body), traceparent: TRACEPARENT }));
    const p = plan({
      request: req,
      source: endpoint('planner', 'agent'),
      destination: endpoint('files', 'mcp_server'),
      config: createPolicyConfig(),
      fresh: FRESH,
    });
    assert.equal(p.kind, 'plan', JSON.stringify(p));
    if (p.kind === 'plan' && p.outbound?.kind === 'exchange') {
      assert.deepEqual(p.outbound.target.tools, [jsonRpcView(call.body)[0]?.name]);
    } else assert.fail(`expected an exchange, got ${JSON.stringify(p)}`);
  });
});

describe('MCP 2026-07-28 header rules (SEP-2243), synthesized table', () => {
  const call = (name: string) =>
    JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } });
  const cases: {
    name: string;
    req: HttpRequestAttributes;
    want: { protocol: 'mcp' | 'other'; why?: string; tools?: string[]; methods?: string[] };
  }[] = [
    {
      name: 'header-only tools/call with a plain Mcp-Name',
      req: post({ 'mcp-method': 'tools/call', 'mcp-name': 'add' }),
      want: { protocol: 'mcp', tools: ['add'], methods: ['tools/call'] },
    },
    {
      name: 'header-only tools/call with a base64 Mcp-Name (non-ASCII tool)',
      req: post({ 'mcp-method': 'tools/call', 'mcp-name': headerValue('café_lookup') }),
      want: { protocol: 'mcp', tools: ['café_lookup'] },
    },
    {
      name: 'header-only resources/read names the URI',
      req: post({ 'mcp-method': 'resources/read', 'mcp-name': 'file:///docs/readme.md' }),
      want: { protocol: 'mcp', tools: [], methods: ['resources/read'] },
    },
    {
      name: 'header-only notification',
      req: post({ 'mcp-method': 'notifications/initialized' }),
      want: { protocol: 'mcp', methods: ['notifications/initialized'] },
    },
    {
      name: 'header-only tools/call without Mcp-Name is not MCP (the tool cannot be known)',
      req: post({ 'mcp-method': 'tools/call' }),
      want: { protocol: 'other', why: 'mcp_name_missing' },
    },
    {
      name: 'header-only tools/call with a broken base64 sentinel',
      req: post({ 'mcp-method': 'tools/call', 'mcp-name': '=?base64?***?=' }),
      want: { protocol: 'other', why: 'mcp_name_missing' },
    },
    {
      name: 'no body and no Mcp-Method (a response carries none): not MCP',
      req: post({ 'mcp-protocol-version': '2026-07-28' }),
      want: { protocol: 'other', why: 'body_required' },
    },
    {
      name: 'header-only unknown method',
      req: post({ 'mcp-method': 'admin/shutdown' }),
      want: { protocol: 'other', why: 'unknown_method' },
    },
    {
      name: 'spoofed Mcp-Method: header says tools/list, body calls a tool',
      req: post({ 'mcp-method': 'tools/list' }, call('delete_all')),
      want: { protocol: 'other', why: 'mcp_header_mismatch' },
    },
    {
      name: 'spoofed Mcp-Name: header names a harmless tool, body calls another',
      req: post({ 'mcp-method': 'tools/call', 'mcp-name': 'add' }, call('delete_all')),
      want: { protocol: 'other', why: 'mcp_header_mismatch' },
    },
    {
      name: 'Mcp-Name in base64 matching the body',
      req: post({ 'mcp-method': 'tools/call', 'mcp-name': headerValue('café_lookup') }, call('café_lookup')),
      want: { protocol: 'mcp', tools: ['café_lookup'] },
    },
    {
      name: 'Mcp-Method with a batch body',
      req: post({ 'mcp-method': 'tools/call', 'mcp-name': 'add' }, `[${call('add')}]`),
      want: { protocol: 'other' },
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const c = classify(t.req, {}, DEFAULT_PROTOCOL_PATTERNS);
      assert.equal(c.protocol, t.want.protocol, `${c.why} ${c.detail ?? ''}`);
      if (t.want.why) assert.equal(c.why, t.want.why);
      if (t.want.tools) assert.deepEqual(c.mcp?.tools, t.want.tools);
      if (t.want.methods) assert.deepEqual(c.mcp?.methods, t.want.methods);
    });
  }
});
