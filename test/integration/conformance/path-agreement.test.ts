// The gate judges a normalized path (src/policy/README.md "Path
// normalization"); the upstream routes the path Envoy forwards. They must
// agree: a spelling the gate reads as an MCP endpoint must not be routed by
// the app to another handler. The recording proxy forwards the path
// unchanged — what Envoy does when the HttpConnectionManager has neither
// `normalize_path` nor `merge_slashes` (both default false). The rendered HCM
// sets both (src/agent/render/envoy-resources.ts), so behind Cilium's Envoy
// the gate and the app see the same normalized path; this suite proves the
// gate is safe even behind a data plane that forwards raw paths. The upstream
// is an ordinary express 5 app with an MCP route and an admin route.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { classify, DEFAULT_PROTOCOL_PATTERNS } from '../../../src/policy/index.js';
import { RecordingProxy, toAttributes } from '../../support/sdk-recorder.js';

const BODY = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });

function post(base: string, path: string): Promise<{ status: number; handler: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(BODY)) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, handler: text }));
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

describe('the path the gate judges is the path the app routes', () => {
  let proxy: RecordingProxy;
  let app: Server;
  before(async () => {
    const e = express();
    e.post('/mcp', (_req, res) => {
      res.type('text/plain').send('mcp');
    });
    e.post('/admin/*rest', (_req, res) => {
      res.type('text/plain').send('admin');
    });
    app = createServer(e);
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', () => resolve()));
    proxy = await RecordingProxy.start();
    proxy.forwardTo(`http://127.0.0.1:${(app.address() as AddressInfo).port}`);
  });
  after(async () => {
    await proxy?.close();
    await new Promise<void>((resolve) => {
      app?.close(() => resolve());
      app?.closeAllConnections();
    });
  });

  // The gate reads MCP only where the app serves MCP: the last five were found by
  // this suite (the gate resolved the dot-segments to /mcp, express routed them to
  // /admin/*), and the gate now refuses dot-segments instead of resolving them.
  for (const path of [
    '/mcp',
    '/mcp/',
    '/MCP',
    '//mcp',
    '/%6Dcp',
    '/mcp/../admin',
    '/admin%2f..%2fmcp',
    '/admin/../mcp',
    '/admin/%2e%2e/mcp',
    '/admin/%2E%2E/mcp',
    '/admin/./../mcp',
    '/admin/x/../../mcp',
  ]) {
    it(`${path}: MCP to the gate only if the app serves it as MCP`, async () => {
      const from = proxy.requests.length;
      const res = await post(proxy.url, path);
      const [r] = proxy.since(from);
      assert.ok(r);
      const c = classify(toAttributes(r), {}, DEFAULT_PROTOCOL_PATTERNS);
      if (c.protocol === 'mcp') {
        assert.notEqual(res.handler, 'admin', `gate: MCP; app: admin handler (${res.status})`);
      }
    });
  }

  it('the control: the app really routes /admin/../mcp to its admin handler', async () => {
    const res = await post(proxy.url, '/admin/../mcp');
    assert.equal(res.handler, 'admin');
  });
});
