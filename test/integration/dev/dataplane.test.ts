// The development data plane calls ext_authz exactly as Envoy's ext_authz
// filter does: the CheckRequest fields, with_request_body (max_request_bytes,
// allow_partial_message, pack_as_bytes), OkHttpResponse mutations applied,
// DeniedHttpResponse returned verbatim, and fail closed (403) when the
// service is down, slow or erroring — over HTTP/1.1 and h2c.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ProxyAgent, request } from 'undici';
import type { WithRequestBody } from '../../../src/agent/dev/dataplane/check-request.js';
import { DevDataPlane, type ExchangeEvent } from '../../../src/agent/dev/dataplane/dev-dataplane.js';
import { ALLOW, AuthzPeer } from './authz-peer.js';

interface UpstreamSeen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

async function startUpstream(): Promise<{ server: Server; port: number; seen: UpstreamSeen[] }> {
  const seen: UpstreamSeen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      });
      res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'yes' });
      res.end('upstream answered');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

const SRC_IP = '10.244.0.11';
const DST_IP = '10.244.0.12';
const HOST = 'flights.demo:8000';

describe('dev data plane: Envoy ext_authz fidelity', () => {
  let authz: AuthzPeer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  const planes: DevDataPlane[] = [];
  const events: ExchangeEvent[] = [];

  async function plane(
    withBody: Partial<WithRequestBody> = {},
    over: { authzTarget?: string; timeoutMs?: number } = {},
  ): Promise<{ egress: string; ingress: string }> {
    const dp = new DevDataPlane({
      authzTarget: over.authzTarget ?? `127.0.0.1:${authz.port}`,
      timeoutMs: over.timeoutMs ?? 2000,
      withRequestBody: { maxRequestBytes: 64, allowPartialMessage: true, packAsBytes: true, ...withBody },
      routes: [
        {
          app: 'flights',
          authority: HOST,
          podIp: DST_IP,
          podPort: 8000,
          upstream: { host: '127.0.0.1', port: upstream.port },
        },
      ],
      listeners: [
        { kind: 'egress', name: 'planner-egress', port: 0, app: 'planner', podIp: SRC_IP },
        { kind: 'ingress', name: 'flights-ingress', port: 0, app: 'flights' },
      ],
      contextExtensions: (l) => ({ casa_listener: l.kind }),
      onExchange: (e) => events.push(e),
    });
    planes.push(dp);
    const ls = await dp.start();
    const port = (n: string) => ls.find((l) => l.name === n)?.port;
    return {
      egress: `http://127.0.0.1:${port('planner-egress')}`,
      ingress: `http://127.0.0.1:${port('flights-ingress')}`,
    };
  }

  /** A request through the egress listener as an app's HTTP client sends it (absolute-form). */
  async function viaEgress(
    egress: string,
    path: string,
    init: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {},
  ) {
    const dispatcher = new ProxyAgent({ uri: egress, proxyTunnel: false });
    try {
      const res = await request(`http://${HOST}${path}`, {
        method: (init.method ?? 'GET') as 'GET',
        headers: init.headers,
        body: init.body,
        dispatcher,
      });
      return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
    } finally {
      await dispatcher.close();
    }
  }

  before(async () => {
    authz = await AuthzPeer.start();
    upstream = await startUpstream();
  });
  beforeEach(() => {
    authz.checks.length = 0;
    authz.script = () => ALLOW;
    upstream.seen.length = 0;
    events.length = 0;
  });
  after(async () => {
    await Promise.all(planes.map((p) => p.close()));
    authz.close();
    await new Promise<void>((r) => upstream.server.close(() => r()));
  });

  it('sends the CheckRequest Envoy sends: peers, request attributes, header map, context extensions', async () => {
    const { egress } = await plane();
    const r = await viaEgress(egress, '/mcp?x=1', {
      headers: { 'X-Multi': ['a', 'b'], Connection: 'keep-alive', Accept: 'application/json' },
    });
    assert.equal(r.status, 200);
    const a = authz.checks[0]?.attributes;
    assert.ok(a);
    assert.equal(
      a.source?.address?.socket_address?.address,
      SRC_IP,
      'source = the app of the egress listener',
    );
    assert.equal(
      a.destination?.address?.socket_address?.address,
      DST_IP,
      'destination = the app of the authority',
    );
    assert.equal(a.destination?.address?.socket_address?.port_value, 8000);
    const h = a.request?.http;
    assert.equal(h?.method, 'GET');
    assert.equal(h?.path, '/mcp?x=1');
    assert.equal(h?.host, HOST);
    assert.equal(h?.scheme, 'http');
    assert.equal(h?.protocol, 'HTTP/1.1');
    assert.match(h?.id ?? '', /^\d+$/);
    assert.equal(h?.size, '0');
    assert.ok(a.request?.time?.seconds);
    const hd = h?.headers ?? {};
    assert.equal(hd[':authority'], HOST);
    assert.equal(hd[':method'], 'GET');
    assert.equal(hd[':path'], '/mcp?x=1');
    assert.equal(hd[':scheme'], 'http');
    assert.equal(hd['x-multi'], 'a,b', 'repeated headers joined with ","');
    assert.equal(hd.accept, 'application/json');
    assert.equal(hd['x-forwarded-proto'], 'http');
    assert.match(hd['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
    for (const k of Object.keys(hd)) assert.equal(k, k.toLowerCase());
    assert.equal(hd.connection, undefined, 'no hop-by-hop headers');
    assert.equal(hd.host, undefined, 'Host travels as :authority');
    assert.equal(hd['x-envoy-auth-partial-body'], undefined, 'no body, no partial-body header');
    assert.equal(h?.raw_body?.length ?? 0, 0);
    assert.deepEqual(a.context_extensions, { casa_listener: 'egress' });
    assert.equal(
      upstream.seen[0]?.headers['x-request-id'],
      hd['x-request-id'],
      'the same request id goes upstream',
    );
    assert.equal(upstream.seen[0]?.headers.host, HOST);
  });

  it('ingress listener: the source is the caller, the destination its app', async () => {
    const { ingress } = await plane();
    const res = await request(`${ingress}/mcp`, { method: 'GET' });
    await res.body.text();
    const a = authz.checks[0]?.attributes;
    assert.equal(a?.source?.address?.socket_address?.address, '127.0.0.1');
    assert.equal(a?.destination?.address?.socket_address?.address, DST_IP);
    assert.deepEqual(a?.context_extensions, { casa_listener: 'ingress' });
  });

  const bodyCases: [string, Partial<WithRequestBody>, number, string, string | undefined][] = [
    ['pack_as_bytes: raw_body, complete', { packAsBytes: true }, 20, 'raw', 'false'],
    ['pack_as_bytes off: body as a string', { packAsBytes: false }, 20, 'string', 'false'],
    ['over max_request_bytes with allow_partial_message: the first bytes, partial', {}, 200, 'raw', 'true'],
  ];
  for (const [name, wb, size, kind, partial] of bodyCases) {
    it(`with_request_body — ${name}; the upstream gets the whole body`, async () => {
      const { egress } = await plane(wb);
      const body = Buffer.from('x'.repeat(size - 2).concat('"}'));
      const r = await viaEgress(egress, '/mcp', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(r.status, 200);
      const h = authz.checks[0]?.attributes.request?.http;
      const sent = kind === 'raw' ? h?.raw_body : Buffer.from(h?.body ?? '');
      assert.equal(kind === 'raw' ? (h?.body ?? '') : (h?.raw_body?.length ?? 0), kind === 'raw' ? '' : 0);
      assert.deepEqual(sent, body.subarray(0, Math.min(size, 64)));
      assert.equal(h?.headers?.['x-envoy-auth-partial-body'], partial);
      assert.ok(Number(h?.size) >= Math.min(size, 64));
      assert.deepEqual(upstream.seen[0]?.body, body);
    });
  }

  it('over max_request_bytes without allow_partial_message: 413 from the data plane, no Check', async () => {
    const { egress } = await plane({ allowPartialMessage: false });
    const r = await viaEgress(egress, '/mcp', { method: 'POST', body: 'y'.repeat(500) });
    assert.equal(r.status, 413);
    assert.equal(authz.checks.length, 0);
    assert.equal(upstream.seen.length, 0);
  });

  it('OkHttpResponse: headers (overwrite, add-if-absent, append, legacy append), removals, response headers, query', async () => {
    const { egress } = await plane();
    authz.script = () => ({
      status: { code: 0 },
      ok_response: {
        headers: [
          {
            header: { key: 'authorization', value: 'Bearer injected' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
          { header: { key: 'x-kept', value: 'not-used' }, append_action: 'ADD_IF_ABSENT' },
          { header: { key: 'x-new', value: 'added' }, append_action: 'ADD_IF_ABSENT' },
          { header: { key: 'x-list', value: 'two' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
          { header: { key: 'x-legacy', value: 'replaced' }, append: { value: false } },
          { header: { key: 'host', value: 'evil.example' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        ],
        headers_to_remove: ['x-secret'],
        response_headers_to_add: [
          { header: { key: 'x-from-authz', value: '1' }, append_action: 'ADD_IF_ABSENT' },
        ],
        query_parameters_to_set: [{ key: 'added', value: 'yes' }],
        query_parameters_to_remove: ['drop'],
      },
    });
    const r = await viaEgress(egress, '/mcp?drop=1&keep=2', {
      headers: {
        authorization: 'Bearer from-app',
        'x-kept': 'original',
        'x-list': 'one',
        'x-legacy': 'old',
        'x-secret': 's',
      },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-from-authz'], '1');
    assert.equal(r.headers['x-upstream'], 'yes');
    const up = upstream.seen[0];
    assert.ok(up);
    assert.equal(up.headers.authorization, 'Bearer injected');
    assert.equal(up.headers['x-kept'], 'original');
    assert.equal(up.headers['x-new'], 'added');
    assert.equal(up.headers['x-list'], 'one, two', 'appended as a second header line');
    assert.equal(up.headers['x-legacy'], 'replaced');
    assert.equal(up.headers['x-secret'], undefined);
    assert.equal(up.headers.host, HOST, 'Host cannot be mutated by ext_authz');
    assert.equal(up.url, '/mcp?keep=2&added=yes');
    assert.equal(events[0]?.outcome, 'allowed');
    assert.deepEqual(events[0]?.removed, ['x-secret']);
    assert.equal(
      events[0]?.injected.find((i) => i.name === 'authorization')?.token?.fingerprint.startsWith('sha256:'),
      true,
    );
    assert.doesNotMatch(JSON.stringify(events[0]), /Bearer injected/, 'the event never carries the token');
    assert.equal(
      events[0]?.injected.some((i) => i.name === 'host'),
      false,
      'ignored mutations are not reported',
    );
  });

  it('DeniedHttpResponse: status, headers and body returned verbatim; nothing reaches the app', async () => {
    const { egress } = await plane();
    const body = '{"error":"tool_not_permitted","message":"token does not permit tool \\"x\\""}';
    authz.script = () => ({
      status: { code: 7 },
      denied_response: {
        status: { code: 'TooManyRequests' },
        headers: [
          {
            header: { key: 'content-type', value: 'application/json' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
          { header: { key: 'retry-after', value: '7' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        ],
        body,
      },
    });
    const r = await viaEgress(egress, '/mcp', { method: 'POST', body: '{}' });
    assert.equal(r.status, 429);
    assert.equal(r.body, body);
    assert.equal(r.headers['retry-after'], '7');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(upstream.seen.length, 0);
    assert.equal(events[0]?.reason, 'tool_not_permitted');
  });

  it('a non-OK status without a denied_response is a 403', async () => {
    const { egress } = await plane();
    authz.script = () => ({ status: { code: 16 } });
    const r = await viaEgress(egress, '/mcp');
    assert.equal(r.status, 403);
    assert.equal(upstream.seen.length, 0);
  });

  it('fails closed: the agent down → 403, nothing reaches the app', async () => {
    const gone = await AuthzPeer.start();
    const target = `127.0.0.1:${gone.port}`;
    gone.close();
    const { egress } = await plane({}, { authzTarget: target });
    const r = await viaEgress(egress, '/mcp');
    assert.equal(r.status, 403);
    assert.equal(r.body, '');
    assert.equal(upstream.seen.length, 0);
    assert.equal(events[0]?.outcome, 'authz_failed');
  });

  it('fails closed: the agent slower than the timeout → 403, nothing reaches the app', async () => {
    const { egress } = await plane({}, { timeoutMs: 150 });
    authz.script = () => new Promise((r) => setTimeout(() => r(ALLOW), 600));
    const r = await viaEgress(egress, '/mcp');
    assert.equal(r.status, 403);
    assert.equal(upstream.seen.length, 0);
    assert.match(events[0]?.authzError ?? '', /^timeout/);
  });

  it('fails closed: the service errors → 403', async () => {
    const { egress } = await plane();
    authz.script = () => Promise.reject(new Error('boom'));
    const r = await viaEgress(egress, '/mcp');
    assert.equal(r.status, 403);
    assert.equal(upstream.seen.length, 0);
  });

  it('h2c (HTTP/2 prior knowledge) on the same port: protocol HTTP/2, :authority, mutations, denies', async () => {
    const { egress } = await plane();
    authz.script = (req) =>
      req.attributes.request?.http?.path === '/denied'
        ? { status: { code: 7 }, denied_response: { status: { code: 'Forbidden' }, body: 'no' } }
        : {
            status: { code: 0 },
            ok_response: {
              headers: [
                { header: { key: 'x-injected', value: 'v' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
              ],
            },
          };
    const session = http2.connect(egress);
    const send = (path: string, body?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const s = session.request({ ':method': body ? 'POST' : 'GET', ':path': path, ':authority': HOST });
        let data = '';
        let status = 0;
        s.on('response', (h) => (status = Number(h[':status'])));
        s.on('data', (d) => (data += d));
        s.on('end', () => resolve({ status, body: data }));
        s.on('error', reject);
        s.end(body);
      });
    try {
      const ok = await send('/mcp', '{"jsonrpc":"2.0"}');
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'upstream answered');
      const h = authz.checks[0]?.attributes.request?.http;
      assert.equal(h?.protocol, 'HTTP/2');
      assert.equal(h?.headers?.[':authority'], HOST);
      assert.equal(h?.host, HOST);
      assert.equal(Buffer.from(h?.raw_body ?? []).toString(), '{"jsonrpc":"2.0"}');
      assert.equal(upstream.seen[0]?.headers['x-injected'], 'v');
      const no = await send('/denied');
      assert.equal(no.status, 403);
      assert.equal(no.body, 'no');
      assert.equal(upstream.seen.length, 1);
    } finally {
      session.close();
    }
  });
});
