// The Istio adapter beyond the decision table: the same fail-closed rules
// through the sidecar ports, one port serving both sides (the side read from
// the Check), `auto` deciding from the manifests folder, and `casa-agent run
// --dataplane istio` as an operator starts it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { ReferenceRuntime } from '../../../src/agent/dev/runtime/index.js';
import { packageRoot } from '../../../src/agent/paths.js';
import { AuthzClient, type CheckResult } from '../../support/authz-client.js';
import { IP, mcpCall, newTraceId, startWorld, traceparent, type World } from '../../support/casa-world.js';
import { inboundCheck, outboundCheck, spiffe } from '../../unit/istio/sidecar-check.js';
import { HOST, type IstioWorld, POD, startIstioWorld } from './istio-world.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function forwarded(r: CheckResult, headers: Record<string, string>): Record<string, string> {
  assert.equal(r.allowed, true, `outbound refused: ${r.body}`);
  const out = { ...headers };
  for (const k of r.headersToRemove) delete out[k];
  return { ...out, ...r.headersSet };
}

describe('fail closed through the sidecar ports: runtime absent', () => {
  let w: IstioWorld;
  before(async () => {
    w = await startIstioWorld({ runtimeDown: true });
  });
  after(async () => {
    await w?.stop();
  });

  it('a client’s first request (T1 needed): runtime_unavailable at the caller’s sidecar', async () => {
    const r = await w.out('web', {
      path: '/',
      host: HOST.planner,
      headers: { traceparent: traceparent(newTraceId()) },
      body: JSON.stringify({ prompt: 'hi' }),
    });
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'runtime_unavailable', r.body);
  });
  it('a token never verified: runtime_unavailable at the callee’s sidecar', async () => {
    const r = await w.in(IP.outside, 'files', {
      path: '/mcp',
      host: HOST.files,
      headers: { traceparent: traceparent(newTraceId()), authorization: 'Bearer a.b.c' },
      body: mcpCall('read_file'),
    });
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'runtime_unavailable', r.body);
  });
  it('not ready while the runtime was never reached', () => {
    assert.equal(w.agent.readiness().ready, false);
  });
});

describe('one port for both sides: the side comes from the Check', () => {
  let w: World;
  let client: AuthzClient;
  before(async () => {
    const port = await freePort();
    w = await startWorld({
      flags: {
        dataplane: 'istio',
        istioInboundListen: `127.0.0.1:${port}`,
        istioOutboundListen: `127.0.0.1:${port}`,
      },
    });
    client = new AuthzClient(`127.0.0.1:${port}`);
  });
  after(async () => {
    client?.close();
    await w?.stop();
  });

  it('an outbound Check (peer metadata) then the inbound one (mTLS principal) run the full flow', async () => {
    const trace = newTraceId();
    const req = { path: '/', host: HOST.planner, body: JSON.stringify({ prompt: 'Plan a trip' }) };
    const headers = { traceparent: traceparent(trace) };
    const o = await client.checkRaw(outboundCheck(POD.web, { ip: POD.planner.ip }, { ...req, headers }));
    assert.match(o.headersSet.authorization ?? '', /^Bearer /, o.body);
    const i = await client.checkRaw(
      inboundCheck({ ip: POD.web.ip, principal: spiffe(POD.web) }, POD.planner, {
        ...req,
        headers: forwarded(o, headers),
      }),
    );
    assert.equal(i.allowed, true, i.body);
    assert.ok(i.headersToRemove.includes('authorization'));
    assert.equal(i.headersSet.authorization, undefined, 'an inbound Check never mints a token');
  });
  it('/debug/state shows the one address for both', () => {
    const l = w.agent.state().listen;
    assert.equal(l.istioInbound, l.istioOutbound);
  });
});

describe('dataplane auto with the file inventory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'casa-auto-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('an Istio CRD in the manifests folder: istio, with the reason in /debug/state', async () => {
    writeFileSync(
      join(dir, 'crds.yaml'),
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: envoyfilters.networking.istio.io}\n',
    );
    const w = await startWorld({
      flags: {
        dataplane: 'auto',
        manifests: dir,
        istioInboundListen: '127.0.0.1:0',
        istioOutboundListen: '127.0.0.1:0',
      },
    });
    try {
      const s = w.agent.state();
      assert.equal(s.dataplane.mode, 'istio');
      assert.match(s.dataplane.why, /CRD envoyfilters\.networking\.istio\.io in .*crds\.yaml/);
      assert.ok(s.listen.istioOutbound);
    } finally {
      await w.stop();
    }
  });
  it('nothing in the folder says: cilium, saying so', async () => {
    const w = await startWorld({ flags: { dataplane: 'auto' } });
    try {
      const s = w.agent.state();
      assert.equal(s.dataplane.mode, 'cilium');
      assert.match(s.dataplane.why, /no Cilium or Istio CRD or object/);
      assert.ok(s.listen.xds);
    } finally {
      await w.stop();
    }
  });
});

describe('casa-agent run --dataplane istio', () => {
  const distMain = join(packageRoot(), process.env.CASA_DIST ?? 'dist', 'src/agent/cli/main.js');
  let runtime: ReferenceRuntime;
  const dir = mkdtempSync(join(tmpdir(), 'casa-run-istio-'));
  before(async () => {
    runtime = await ReferenceRuntime.start();
    writeFileSync(join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: travel}\n');
  });
  after(async () => {
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves both sidecar ports, logs the data plane and why, and drains on SIGTERM', async () => {
    const [inbound, outbound, diag] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        distMain,
        'run',
        '--dataplane',
        'istio',
        '--inventory',
        'file',
        '--manifests',
        dir,
        '--runtime-url',
        runtime.url,
        '--istio-inbound-listen',
        `127.0.0.1:${inbound}`,
        '--istio-outbound-listen',
        `127.0.0.1:${outbound}`,
        '--diag-listen',
        `127.0.0.1:${diag}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      // Ready: listening, inventory synced, runtime reached (and the signal handlers installed).
      for (let i = 0; i < 200 && !out.includes('casa-agent started'); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const res = await request(`http://127.0.0.1:${diag}/debug/state`);
      const state = (await res.body.json()) as {
        dataplane?: { mode: string; why: string };
        listen?: Record<string, string>;
      };
      assert.deepEqual(state.dataplane, { mode: 'istio', why: 'dataplane=istio (configured)' }, out);
      assert.equal(state.listen?.istioInbound, `127.0.0.1:${inbound}`);
      assert.equal(state.listen?.istioOutbound, `127.0.0.1:${outbound}`);
      assert.match(out, /"dataplane":"istio".*"why":"dataplane=istio \(configured\)"/);
      const c = new AuthzClient(`127.0.0.1:${outbound}`);
      const r = await c.checkRaw(outboundCheck(POD.planner, { ip: IP.files }, { path: '/', host: 'x' }));
      c.close();
      assert.equal(r.allowed, true, 'no MAS in this folder: nothing is ours');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
  });
});
