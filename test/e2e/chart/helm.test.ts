// The Helm chart with real Helm: lint and template for every data plane, bad
// values refused with a message naming the value, and install / upgrade /
// uninstall against a real kube-apiserver with the real CRDs, leaving nothing
// behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../src/agent/config/load.js';
import { packageRoot } from '../../../src/agent/paths.js';
import { useKube } from '../../harness/kube.js';
import { requirePeer } from '../../harness/peers.js';

const CHART = join(packageRoot(), 'daemonset');
// Off CI a missing helm (or control plane) skips the suites with the reason; in CI it fails the file.
const helmPeer = requirePeer('helm');
const HELM = helmPeer.path;
const fixture = useKube();

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  rules?: unknown;
  [k: string]: unknown;
}

function helm(args: string[], kubeconfig?: string): { code: number | null; stdout: string; stderr: string } {
  const env: Record<string, string | undefined> = { ...process.env, HELM_CACHE_HOME: undefined };
  if (kubeconfig) env.KUBECONFIG = kubeconfig;
  const r = spawnSync(HELM, args, { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function template(...set: string[]): Obj[] {
  const r = helm(['template', 'rel', CHART, '-n', 'casa-system', ...set.flatMap((s) => ['--set', s])]);
  assert.equal(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

function kinds(objs: Obj[]): string[] {
  return objs.map((o) => `${o.kind}/${o.metadata.name}`);
}

describe('helm lint', { skip: helmPeer.skip }, () => {
  for (const dataplane of ['cilium', 'istio', 'auto']) {
    it(`passes with dataplane=${dataplane}`, () => {
      const r = helm(['lint', CHART, '--strict', '--set', `dataplane=${dataplane}`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    });
  }
});

describe('helm template', { skip: helmPeer.skip }, () => {
  it('default values: agent, RBAC, config and the Cilium objects from the renderer', () => {
    const objs = template();
    assert.deepEqual(kinds(objs).sort(), [
      'CiliumClusterwideEnvoyConfig/casa-node-agent-egress',
      'CiliumClusterwideEnvoyConfig/casa-node-agent-l7lb',
      'CiliumClusterwideNetworkPolicy/casa-node-agent',
      'ClusterRole/rel-casa-node-agent',
      'ClusterRoleBinding/rel-casa-node-agent',
      'ConfigMap/rel-casa-node-agent',
      'DaemonSet/rel-casa-node-agent',
      'Pod/rel-casa-node-agent-test-readyz',
      'ServiceAccount/rel-casa-node-agent',
    ]);
  });
  it('the DaemonSet runs on the host network, hardened, with probes on the diag port', () => {
    const ds = template().find((o) => o.kind === 'DaemonSet') as Obj;
    const spec = (ds.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    assert.equal(spec.hostNetwork, true);
    assert.equal(spec.dnsPolicy, 'ClusterFirstWithHostNet');
    assert.deepEqual(spec.tolerations, [{ operator: 'Exists' }]);
    const c = (spec.containers as Record<string, unknown>[])[0] as Record<string, Record<string, unknown>>;
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'diag' });
    assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'diag' });
    const env = c.env as unknown as { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
    assert.equal(
      env.find((e) => e.name === 'CASA_NODE_NAME')?.valueFrom?.fieldRef?.fieldPath,
      'spec.nodeName',
    );
    assert.ok((spec.terminationGracePeriodSeconds as number) * 1000 > 10_000);
  });
  it('the ConfigMap holds a config file the agent loads', () => {
    const cm = template('config.checkTimeout=250', 'ports.authz=7001').find(
      (o) => o.kind === 'ConfigMap',
    ) as Obj;
    const text = (cm.data as Record<string, string>)['config.yaml'] as string;
    const cfg = loadConfig({ flags: {}, env: {}, fileText: text });
    assert.deepEqual(cfg.authzListen, { host: '127.0.0.1', port: 7001 });
    assert.equal(cfg.checkTimeout, 250);
    assert.equal(cfg.agentNamespace, 'casa-system');
    assert.equal(cfg.inventory, 'kubernetes');
  });
  it('the Cilium objects follow the agent settings of the values', () => {
    const objs = template(
      'ports.authz=7001',
      'ports.xds=7002',
      'config.checkTimeout=250',
      'config.maxRequestBytes=4096',
    );
    const text = JSON.stringify(objs.find((o) => o.metadata.name === 'casa-node-agent-egress'));
    assert.match(text, /"target_uri":"127\.0\.0\.1:7001"/);
    assert.match(text, /"target_uri":"127\.0\.0\.1:7002"/);
    assert.match(text, /"timeout":"0\.25s"/);
    assert.match(text, /"max_request_bytes":4096/);
  });
  it('dataplane=istio has no Cilium objects', () => {
    assert.ok(!kinds(template('dataplane=istio')).some((k) => k.startsWith('Cilium')));
  });
  it('config.applyClusterObjects: the agent owns the Cilium objects, so the chart does not install them', () => {
    const objs = template('config.applyClusterObjects=true', 'cilium.installObjects=true');
    assert.ok(!kinds(objs).some((k) => k.startsWith('Cilium')), kinds(objs).join(', '));
    const writer = objs.find((o) => o.kind === 'ClusterRole' && o.metadata.name.endsWith('-cilium-writer'));
    assert.deepEqual(writer?.rules, [
      {
        apiGroups: ['cilium.io'],
        resources: ['ciliumclusterwideenvoyconfigs', 'ciliumclusterwidenetworkpolicies'],
        verbs: ['list', 'create', 'patch', 'delete'],
      },
    ]);
    const lease = objs.find((o) => o.kind === 'Role' && o.metadata.name.endsWith('-leader-election'));
    assert.equal(lease?.metadata.namespace, 'casa-system');
    assert.deepEqual(lease?.rules, [
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ]);
    const cm = objs.find((o) => o.kind === 'ConfigMap') as Obj;
    const cfg = loadConfig({
      flags: {},
      env: {},
      fileText: (cm.data as Record<string, string>)['config.yaml'],
    });
    assert.equal(cfg.applyClusterObjects, true);
  });
  it('cilium.installObjects=false has no Cilium objects', () => {
    assert.ok(!kinds(template('cilium.installObjects=false')).some((k) => k.startsWith('Cilium')));
  });
  it('dataplane=auto installs them only where the Cilium envoy-config API is served', () => {
    assert.ok(!kinds(template('dataplane=auto')).some((k) => k.startsWith('Cilium')));
    const r = helm([
      'template',
      'rel',
      CHART,
      '--set',
      'dataplane=auto',
      '--api-versions',
      'cilium.io/v2/CiliumClusterwideEnvoyConfig',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /kind: CiliumClusterwideEnvoyConfig/);
  });
  it('secret access is one Role per listed namespace; the writer role only with applyClusterObjects', () => {
    const objs = template('rbac.secretNamespaces={travel,shop}', 'config.applyClusterObjects=true');
    const roles = objs
      .filter((o) => o.kind === 'Role')
      .map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    assert.deepEqual(roles.sort(), [
      'casa-system/rel-casa-node-agent-leader-election',
      'shop/rel-casa-node-agent-app-credentials',
      'travel/rel-casa-node-agent-app-credentials',
    ]);
    const clusterRules = JSON.stringify(objs.filter((o) => o.kind === 'ClusterRole'));
    assert.ok(!clusterRules.includes('secrets'), 'no cluster-wide Secret access');
    assert.match(clusterRules, /ciliumclusterwideenvoyconfigs/);
    assert.ok(!JSON.stringify(template()).includes('ciliumclusterwideenvoyconfigs"'));
  });
});

describe('bad values are refused with a message naming the value', { skip: helmPeer.skip }, () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown data plane', ['dataplane=envoy'], /\/dataplane.*one of/],
    ['port out of range', ['ports.diag=70000'], /\/ports\/diag/],
    ['unknown config key', ['config.checkTimout=5000'], /\/config.*checkTimout/],
    ['check timeout below the agent minimum', ['config.checkTimeout=10'], /\/config\/checkTimeout/],
    ['bad runtime URL', ['config.runtimeUrl=ftp://x'], /\/config\/runtimeUrl/],
    ['keys the chart decides', ['config.authzListen=0.0.0.0:1'], /authzListen/],
    ['maxUnavailable 0', ['updateStrategy.maxUnavailable=0'], /\/updateStrategy\/maxUnavailable/],
    [
      'grace period not above drainTimeout',
      ['terminationGracePeriodSeconds=10'],
      /must exceed config\.drainTimeout/,
    ],
    ['equal ports', ['ports.xds=9191'], /must differ/],
    ['rfc profile without client id', ['config.runtimeProfile=rfc'], /rfcClientId/],
    ['half a secret reference', ['secrets.rfcClientSecret.name=s'], /rfcClientSecret/],
  ];
  for (const [name, set, want] of cases) {
    it(name, () => {
      const r = helm(['template', 'rel', CHART, ...set.flatMap((s) => ['--set', s])]);
      assert.notEqual(r.code, 0, `accepted: ${set.join(' ')}`);
      assert.match(r.stderr, want);
    });
  }
});

describe('helm install, upgrade and uninstall against a real apiserver', {
  skip: helmPeer.skip ?? fixture.skip,
}, () => {
  const release = 'casa';
  const ns = 'casa-system';
  before(async () => {
    const r = await fixture.kube.request('POST', '/api/v1/namespaces', { metadata: { name: 'travel' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });

  const get = (path: string) => fixture.kube.request('GET', path);
  const egressConfig = '/apis/cilium.io/v2/ciliumclusterwideenvoyconfigs/casa-node-agent-egress';

  it('installs, and every object is accepted', async () => {
    const r = helm(
      ['install', release, CHART, '-n', ns, '--create-namespace', '--set', 'rbac.secretNamespaces={travel}'],
      fixture.kube.kubeconfigPath,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /kubectl label namespace <ns> casa\.io\/injection=enabled/);
    for (const path of [
      `/apis/apps/v1/namespaces/${ns}/daemonsets/casa-casa-node-agent`,
      `/api/v1/namespaces/${ns}/configmaps/casa-casa-node-agent`,
      `/api/v1/namespaces/${ns}/serviceaccounts/casa-casa-node-agent`,
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/casa-casa-node-agent',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/travel/roles/casa-casa-node-agent-app-credentials',
      egressConfig,
      '/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies/casa-node-agent',
    ]) {
      assert.equal((await get(path)).status, 200, path);
    }
  });

  it('upgrades with changed values', async () => {
    const r = helm(
      [
        'upgrade',
        release,
        CHART,
        '-n',
        ns,
        '--set',
        'rbac.secretNamespaces={travel}',
        '--set',
        'ports.authz=7001',
        '--set',
        'config.logLevel=debug',
      ],
      fixture.kube.kubeconfigPath,
    );
    assert.equal(r.code, 0, r.stderr);
    const ccec = JSON.stringify((await get(egressConfig)).body);
    assert.match(ccec, /127\.0\.0\.1:7001/);
    const cm = (await get(`/api/v1/namespaces/${ns}/configmaps/casa-casa-node-agent`)).body as {
      data: Record<string, string>;
    };
    assert.match(cm.data['config.yaml'] ?? '', /logLevel: debug/);
  });

  it('an upgrade that turns the Cilium objects off removes them', async () => {
    const r = helm(
      ['upgrade', release, CHART, '-n', ns, '--reuse-values', '--set', 'cilium.installObjects=false'],
      fixture.kube.kubeconfigPath,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await get(egressConfig)).status, 404);
  });

  it('uninstall leaves nothing behind', async () => {
    const r = helm(
      ['uninstall', release, '-n', ns, '--wait', '--timeout', '60s'],
      fixture.kube.kubeconfigPath,
    );
    assert.equal(r.code, 0, r.stderr);
    const selector = `labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${release}`)}`;
    for (const path of [
      `/apis/apps/v1/namespaces/${ns}/daemonsets`,
      `/api/v1/namespaces/${ns}/configmaps`,
      `/api/v1/namespaces/${ns}/serviceaccounts`,
      '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/travel/roles',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/travel/rolebindings',
    ]) {
      const items = ((await get(`${path}?${selector}`)).body as { items: unknown[] }).items;
      assert.deepEqual(items, [], path);
    }
    for (const path of [
      '/apis/cilium.io/v2/ciliumclusterwideenvoyconfigs',
      '/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies',
    ]) {
      assert.deepEqual(((await get(path)).body as { items: unknown[] }).items, [], path);
    }
    // Helm's release records are gone too.
    const secrets = (await get(`/api/v1/namespaces/${ns}/secrets?labelSelector=owner%3Dhelm`)).body as {
      items: unknown[];
    };
    assert.deepEqual(secrets.items, []);
  });
});
