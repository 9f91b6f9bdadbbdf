// --dataplane auto against a real kube-apiserver, as its CRDs come and go
// from the cluster: neither data plane's API → a clear error (exit 2 from
// `casa-agent run`); Istio's CRDs → istio, said in the log and /debug/state;
// Cilium's envoy-config CRD as well → cilium (Cilium first).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { ConfigError } from '../../../src/agent/config/load.js';
import { chooseDataplane, kubeDiscovery } from '../../../src/agent/istio/dataplane.js';
import { packageRoot } from '../../../src/agent/paths.js';
import { defaultCrdDir, useKube } from '../../harness/kube.js';
import { installCrds } from '../../harness/kube-crds.js';
import { freePort } from '../../harness/processes.js';

const root = mkdtempSync(join(tmpdir(), 'casa-auto-crds-'));
after(() => rmSync(root, { recursive: true, force: true }));
function crdFolder(name: string, files: readonly string[]): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const f of files) copyFileSync(join(defaultCrdDir(), f), join(dir, f));
  return dir;
}
// The cluster starts with CASA's CRD only: the agent's inventory needs it, no data plane has one.
const fixture = useKube({ crdDir: crdFolder('casa', ['casa-multiagentsystems.yaml']) });
const distMain = join(packageRoot(), process.env.CASA_DIST ?? 'dist', 'src/agent/cli/main.js');

const auto = () =>
  chooseDataplane({
    configured: 'auto',
    inventory: 'kubernetes',
    discovery: () => kubeDiscovery(fixture.kube.kubeConfig),
  });

interface Run {
  code: number | null;
  output: string;
  state?: { dataplane: { mode: string; why: string }; listen: Record<string, string> };
}

/** `casa-agent run --dataplane auto` on the Kubernetes inventory; stopped with SIGTERM once it said what it chose. */
async function runAgent(): Promise<Run> {
  const [inbound, outbound, diag, authz, xds] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
  const child = spawn(
    process.execPath,
    [
      distMain,
      'run',
      '--dataplane',
      'auto',
      '--inventory',
      'kubernetes',
      '--kubeconfig',
      fixture.kube.kubeconfigPath,
      '--node-name',
      'node-a',
      '--runtime-url',
      'http://127.0.0.1:9',
      '--istio-inbound-listen',
      `127.0.0.1:${inbound}`,
      '--istio-outbound-listen',
      `127.0.0.1:${outbound}`,
      '--authz-listen',
      `127.0.0.1:${authz}`,
      '--xds-listen',
      `127.0.0.1:${xds}`,
      '--diag-listen',
      `127.0.0.1:${diag}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  let state: Run['state'];
  try {
    for (let i = 0; i < 300 && child.exitCode === null && !output.includes('casa-agent started'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (output.includes('casa-agent started')) {
      const res = await request(`http://127.0.0.1:${diag}/debug/state`);
      state = (await res.body.json()) as Run['state'];
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  return { code: await exited, output, ...(state ? { state } : {}) };
}

describe('dataplane auto against the real apiserver', { skip: fixture.skip }, () => {
  it('neither API served: a ConfigError on dataplane naming the apiserver and both APIs', async () => {
    await assert.rejects(auto(), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.field, 'dataplane');
      assert.ok(err.message.includes(fixture.kube.url), err.message);
      assert.match(err.message, /ciliumclusterwideenvoyconfigs.*envoyfilters/);
      return true;
    });
  });

  it('casa-agent run exits 2 with that message, before opening any port', async () => {
    const r = await runAgent();
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /invalid configuration: dataplane: auto found neither/);
    assert.doesNotMatch(r.output, /casa-agent started/);
  });

  it('Istio’s CRDs installed: istio, and why', async () => {
    await installCrds(
      fixture.kube.request,
      crdFolder('istio', ['istio-envoyfilters.yaml', 'istio-authorizationpolicies.yaml']),
    );
    const c = await auto();
    assert.equal(c.mode, 'istio');
    assert.match(c.why, /networking\.istio\.io\/v1alpha3 envoyfilters and not cilium\.io\/v2/);
  });

  it('casa-agent run serves the sidecar ports and says istio, and why, in its log and /debug/state', async () => {
    const r = await runAgent();
    assert.equal(r.state?.dataplane.mode, 'istio', r.output);
    assert.match(
      r.state?.dataplane.why ?? '',
      /^auto: https:\/\/127\.0\.0\.1:\d+ serves networking\.istio\.io/,
    );
    assert.ok(r.state?.listen.istioInbound && r.state.listen.istioOutbound);
    assert.equal(r.state?.listen.xds, undefined);
    assert.match(r.output, /"dataplane":"istio","why":"auto: /);
    assert.equal(r.code, 0, r.output);
  });

  it('Cilium’s envoy-config CRD installed as well: cilium first', async () => {
    await installCrds(fixture.kube.request, crdFolder('cilium', ['ciliumclusterwideenvoyconfigs.yaml']));
    const c = await auto();
    assert.equal(c.mode, 'cilium');
    assert.match(c.why, /serves cilium\.io\/v2 ciliumclusterwideenvoyconfigs/);
    const r = await runAgent();
    assert.equal(r.state?.dataplane.mode, 'cilium', r.output);
    assert.ok(r.state?.listen.xds);
    assert.equal(r.code, 0, r.output);
  });
});
