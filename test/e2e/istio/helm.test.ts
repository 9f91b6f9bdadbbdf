// The chart's Istio path with real Helm: what it installs for Istio is what
// `casa-agent render --dataplane istio` renders for the same settings (the
// agent's config file from the chart's own ConfigMap), a node-local Service
// for the sidecars, nothing Istio on the Cilium path, `auto` following the
// agent's order; and install / upgrade / uninstall against a real apiserver
// with Istio's CRDs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../src/agent/config/load.js';
import { packageRoot } from '../../../src/agent/paths.js';
import { renderIstio } from '../../../src/agent/render/istio.js';
import { defaultCrdDir, useKube } from '../../harness/kube.js';
import { requirePeer } from '../../harness/peers.js';

const CHART = join(packageRoot(), 'daemonset');
const helmPeer = requirePeer('helm');

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
  [k: string]: unknown;
}

function helm(args: string[], kubeconfig?: string) {
  const env: Record<string, string | undefined> = { ...process.env };
  if (kubeconfig) env.KUBECONFIG = kubeconfig;
  const r = spawnSync(helmPeer.path, args, { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function template(set: string[], extra: string[] = []): Obj[] {
  const r = helm([
    'template',
    'rel',
    CHART,
    '-n',
    'casa-system',
    ...set.flatMap((s) => ['--set', s]),
    ...extra,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const istioKinds = (objs: Obj[]) =>
  objs
    .filter((o) => o.kind === 'EnvoyFilter' || o.kind === 'AuthorizationPolicy' || o.kind === 'Service')
    .map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)
    .sort();

describe('helm template, Istio data plane', { skip: helmPeer.skip }, () => {
  const variants: [string, string[]][] = [
    ['envoyfilter attachment, defaults', ['dataplane=istio', 'rbac.secretNamespaces={travel,shop}']],
    [
      'authorizationpolicy attachment, own namespaces, ports, limits and cluster domain',
      [
        'dataplane=istio',
        'istio.attachment=authorizationpolicy',
        'istio.namespaces={zeta,alpha}',
        'istio.clusterDomain=corp.example',
        'ports.istioInbound=7100',
        'ports.istioOutbound=7200',
        'config.checkTimeout=250',
        'config.maxRequestBytes=4096',
      ],
    ],
    [
      'one port for both sides',
      [
        'dataplane=istio',
        'rbac.secretNamespaces={travel}',
        'ports.istioInbound=7100',
        'ports.istioOutbound=7100',
      ],
    ],
  ];
  for (const [name, set] of variants) {
    it(`${name}: the attachment objects are what the renderer renders for the chart's own config`, () => {
      const objs = template(set);
      const cm = objs.find((o) => o.kind === 'ConfigMap') as Obj;
      const config = loadConfig({ flags: {}, env: {}, fileText: cm.data?.['config.yaml'] ?? '' });
      const namespaces = [
        ...new Set(objs.filter((o) => o.kind === 'EnvoyFilter').map((o) => o.metadata.namespace as string)),
      ];
      assert.ok(namespaces.length > 0);
      // Helm orders manifests by kind; compare object by object.
      const key = (o: { kind: string; metadata: { namespace?: string } }) =>
        `${o.kind}/${o.metadata.namespace}`;
      const byKey = <T extends { kind: string; metadata: { namespace?: string } }>(xs: T[]) =>
        [...xs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      const want = byKey(renderIstio({ config, multiAgentSystems: [], namespaces }));
      const have = byKey(objs.filter((o) => o.kind === 'EnvoyFilter' || o.kind === 'AuthorizationPolicy'));
      assert.deepEqual(
        have.map((o) => [o.kind, o.metadata.namespace, o.metadata.name, o.spec]),
        want.map((o) => [o.kind, o.metadata.namespace, o.metadata.name, o.spec]),
      );
      for (const [i, o] of have.entries()) {
        for (const [k, v] of Object.entries(want[i]?.metadata.labels ?? {}))
          assert.equal(o.metadata.labels?.[k], v);
        assert.equal(
          o.metadata.labels?.['app.kubernetes.io/instance'],
          'rel',
          'release-labelled for uninstall',
        );
      }
    });
  }

  it('the Service the filters dial: node-local, the agent pods, each port', () => {
    const objs = template(['dataplane=istio', 'ports.istioInbound=7100', 'ports.istioOutbound=7200']);
    const svc = objs.find((o) => o.kind === 'Service') as Obj;
    const ds = objs.find((o) => o.kind === 'DaemonSet') as Obj;
    const spec = svc.spec as {
      internalTrafficPolicy: string;
      selector: object;
      ports: { port: number; targetPort: number }[];
    };
    assert.equal(spec.internalTrafficPolicy, 'Local');
    const podLabels = (ds.spec as { template: { metadata: { labels: Record<string, string> } } }).template
      .metadata.labels;
    for (const [k, v] of Object.entries(spec.selector)) assert.equal(podLabels[k], v);
    assert.deepEqual(
      spec.ports.map((p) => [p.port, p.targetPort]),
      [
        [7100, 7100],
        [7200, 7200],
      ],
    );
    const cm = objs.find((o) => o.kind === 'ConfigMap') as Obj;
    const config = loadConfig({ flags: {}, env: {}, fileText: cm.data?.['config.yaml'] ?? '' });
    assert.equal(config.dataplane, 'istio');
    assert.equal(
      (config as { istioService?: string }).istioService,
      `${svc.metadata.name}.casa-system.svc.cluster.local`,
    );
  });

  it('nothing of Istio on the Cilium path, or with istio.installObjects=false', () => {
    assert.deepEqual(istioKinds(template(['rbac.secretNamespaces={travel}'])), []);
    assert.deepEqual(
      istioKinds(
        template(['dataplane=istio', 'istio.installObjects=false', 'rbac.secretNamespaces={travel}']),
      ),
      [],
    );
  });

  it('dataplane=auto follows the agent: Istio objects only where Istio’s API is served and Cilium’s is not', () => {
    const set = ['dataplane=auto', 'rbac.secretNamespaces={travel}'];
    assert.deepEqual(istioKinds(template(set)), []);
    const istio = template(set, ['--api-versions', 'networking.istio.io/v1alpha3/EnvoyFilter']);
    assert.deepEqual(istioKinds(istio), [
      'EnvoyFilter/travel/casa-node-agent',
      'Service/casa-system/rel-casa-node-agent',
    ]);
    const both = template(set, [
      '--api-versions',
      'networking.istio.io/v1alpha3/EnvoyFilter',
      '--api-versions',
      'cilium.io/v2/CiliumClusterwideEnvoyConfig',
    ]);
    assert.deepEqual(istioKinds(both), []);
    assert.ok(both.some((o) => o.kind === 'CiliumClusterwideEnvoyConfig'));
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown attachment', ['dataplane=istio', 'istio.attachment=sidecar'], /\/istio\/attachment/],
    [
      'a namespace that is no DNS label',
      ['dataplane=istio', 'istio.namespaces={Bad_NS}'],
      /\/istio\/namespaces/,
    ],
    [
      'an Istio port equal to the diagnostics port',
      ['dataplane=istio', 'ports.istioInbound=9193'],
      /must differ.*9193/,
    ],
  ];
  for (const [name, set, want] of bad) {
    it(`refuses ${name}`, () => {
      const r = helm(['template', 'rel', CHART, ...set.flatMap((s) => ['--set', s])]);
      assert.notEqual(r.code, 0, `accepted: ${set.join(' ')}`);
      assert.match(r.stderr, want);
    });
  }
});

// A control plane with Istio's CRDs only.
const crdDir = mkdtempSync(join(tmpdir(), 'casa-istio-helm-crds-'));
for (const f of ['istio-envoyfilters.yaml', 'istio-authorizationpolicies.yaml']) {
  copyFileSync(join(defaultCrdDir(), f), join(crdDir, f));
}
after(() => rmSync(crdDir, { recursive: true, force: true }));
const fixture = useKube({ crdDir });

describe('helm install, upgrade and uninstall with dataplane=istio', {
  skip: helmPeer.skip ?? fixture.skip,
}, () => {
  const release = 'casa';
  const ns = 'casa-system';
  const get = (path: string) => fixture.kube.request('GET', path);
  const ef = '/apis/networking.istio.io/v1alpha3/namespaces/travel/envoyfilters/casa-node-agent';
  const ap = '/apis/security.istio.io/v1/namespaces/travel/authorizationpolicies/casa-node-agent';
  before(async () => {
    await fixture.kube.request('POST', '/api/v1/namespaces', { metadata: { name: 'travel' } });
  });

  it('installs the Service and the EnvoyFilter; the notes name the ports and namespaces', async () => {
    const r = helm(
      [
        'install',
        release,
        CHART,
        '-n',
        ns,
        '--create-namespace',
        '--set',
        'dataplane=istio',
        '--set',
        'rbac.secretNamespaces={travel}',
      ],
      fixture.kube.kubeconfigPath,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /SIDECAR_INBOUND on port 4100/);
    assert.match(r.stdout, /Attached namespaces .*:\s+travel/);
    assert.equal((await get(ef)).status, 200);
    const svc = await get(`/api/v1/namespaces/${ns}/services/casa-casa-node-agent`);
    assert.equal(svc.status, 200);
    assert.equal(
      (svc.body as { spec: { internalTrafficPolicy: string } }).spec.internalTrafficPolicy,
      'Local',
    );
    assert.equal((await get(ap)).status, 404);
  });

  it('an upgrade to the authorizationpolicy attachment adds the policy, keeps outbound only in the filter, prints the provider', async () => {
    const r = helm(
      [
        'upgrade',
        release,
        CHART,
        '-n',
        ns,
        '--reuse-values',
        '--set',
        'istio.attachment=authorizationpolicy',
      ],
      fixture.kube.kubeconfigPath,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /extensionProviders:\s+- name: casa-node-agent\s+envoyExtAuthzGrpc:/);
    assert.match(r.stdout, /service: casa-casa-node-agent\.casa-system\.svc\.cluster\.local/);
    const policy = (await get(ap)).body as { spec: unknown };
    assert.deepEqual(policy.spec, { action: 'CUSTOM', provider: { name: 'casa-node-agent' }, rules: [{}] });
    const filter = (await get(ef)).body as { spec: { configPatches: { match: { context: string } }[] } };
    assert.deepEqual(
      filter.spec.configPatches.map((p) => p.match.context),
      ['SIDECAR_OUTBOUND', 'SIDECAR_OUTBOUND'],
    );
  });

  it('uninstall leaves nothing behind', async () => {
    const r = helm(
      ['uninstall', release, '-n', ns, '--wait', '--timeout', '60s'],
      fixture.kube.kubeconfigPath,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await get(ef)).status, 404);
    assert.equal((await get(ap)).status, 404);
    assert.equal((await get(`/api/v1/namespaces/${ns}/services/casa-casa-node-agent`)).status, 404);
  });
});
