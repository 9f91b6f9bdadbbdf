// The Kubernetes inventory source against a real kube-apiserver (+ etcd, the
// real MultiAgentSystem CRD): pods on this node vs another node, MAS changes,
// Secret rotation, IP reuse, namespaces becoming (un)managed, and the
// apiserver going away and coming back while the registry keeps serving.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { InventoryEvent } from '../../../src/agent/inventory/events.js';
import { FileSource } from '../../../src/agent/inventory/file-source.js';
import { KubeConfigApi } from '../../../src/agent/inventory/kube-api.js';
import { KubeSource } from '../../../src/agent/inventory/kube-source.js';
import type { RestartCause } from '../../../src/agent/inventory/reflector.js';
import { WorkloadRegistry } from '../../../src/agent/inventory/registry.js';
import { type TestKube, useKube, waitFor } from '../../harness/kube.js';
import { kubeRequest } from '../../harness/kube-request.js';

const fixture = useKube();
const NODE = 'node-a';
const MANAGED = { 'casa.io/injection': 'enabled' };

let subnet = 0;
/** A /24 of pod IPs no other test of this file uses (sources see every managed namespace). */
function ips(): (host: number) => string {
  subnet += 1;
  const n = subnet;
  return (host) => `10.${100 + n}.0.${host}`;
}

interface Running {
  readonly reg: WorkloadRegistry;
  readonly source: KubeSource;
  readonly restarts: RestartCause[];
}

const running: Running[] = [];
after(async () => {
  for (const r of running) {
    await r.source.stop();
    r.reg.close();
  }
});

async function startSource(kube: TestKube): Promise<Running> {
  const reg = new WorkloadRegistry({ nodeName: NODE, coalesceMs: 5 });
  const restarts: RestartCause[] = [];
  const source = new KubeSource({
    api: new KubeConfigApi(kube.kubeConfig),
    sink: reg,
    nodeName: NODE,
    backoff: { initialMs: 100, maxMs: 1000 },
    onWatchRestart: (_kind, cause) => restarts.push(cause),
  });
  const r = { reg, source, restarts };
  running.push(r);
  await source.start();
  return r;
}

async function ok(res: Promise<{ status: number; body: unknown }>, what: string): Promise<unknown> {
  const r = await res;
  assert.ok(
    r.status >= 200 && r.status < 300,
    `${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`,
  );
  return r.body;
}

interface AppRaw {
  readonly name: string;
  readonly type: 'agent' | 'mcp_server';
  readonly workload: string;
}

function masBody(ns: string, name: string, apps: readonly AppRaw[]) {
  return {
    apiVersion: 'casa.io/v1alpha1',
    kind: 'MultiAgentSystem',
    metadata: { name, namespace: ns },
    spec: {
      name,
      llm_host: 'llm.example.com',
      apps: apps.map((a) => ({
        name: a.name,
        type: a.type,
        kubernetesWorkloadName: a.workload,
        baseUrl: { host: `${a.name}.${ns}:8080`, scheme: 'http' },
      })),
    },
  };
}

const APPS: readonly AppRaw[] = [
  { name: 'planner', type: 'agent', workload: 'planner' },
  { name: 'flights', type: 'mcp_server', workload: 'flights-mcp' },
];

function createMas(kube: TestKube, ns: string, name: string, apps: readonly AppRaw[] = APPS) {
  return ok(
    kube.request(
      'POST',
      `/apis/casa.io/v1alpha1/namespaces/${ns}/multiagentsystems`,
      masBody(ns, name, apps),
    ),
    'create MAS',
  );
}

function statefulSetOwner(name: string) {
  return [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name, uid: `0000-${name}`, controller: true }];
}

function recordInto(events: InventoryEvent[], reg: WorkloadRegistry, e: InventoryEvent): void {
  events.push(e);
  reg.apply(e);
}

async function until(what: string, cond: () => boolean): Promise<void> {
  await waitFor(what, 30_000, async () => cond());
}

describe('Kubernetes inventory source against a real apiserver', {
  skip: fixture.skip,
  timeout: 240_000,
}, () => {
  it('pods on this node are local sources; pods on another node resolve as destinations', async () => {
    const kube = fixture.kube;
    const ip = ips();
    const ns = await kube.newNamespace({ prefix: 'inv', labels: MANAGED });
    const plain = await kube.newNamespace({ prefix: 'plain' });
    await createMas(kube, ns, 'trip');
    await kube.createPod({
      namespace: ns,
      name: 'planner-0',
      nodeName: NODE,
      podIP: ip(1),
      ownerReferences: statefulSetOwner('planner'),
    });
    await kube.createPod({
      namespace: ns,
      name: 'flights-mcp-0',
      nodeName: 'node-b',
      podIP: ip(2),
      ownerReferences: statefulSetOwner('flights-mcp'),
    });
    await kube.createPod({
      namespace: plain,
      name: 'planner-0',
      nodeName: NODE,
      podIP: ip(3),
      ownerReferences: statefulSetOwner('planner'),
    });
    await kube.createPod({
      namespace: ns,
      name: 'pending',
      nodeName: NODE,
      labels: { 'casa.io/app': 'planner' },
    });
    const { reg, source } = await startSource(kube);
    assert.equal(source.synced, true);
    const local = reg.localWorkloads().filter((w) => w.namespace === ns);
    assert.deepEqual(
      local.map((w) => [w.podName, w.app.name, w.type, w.nodeName]),
      [['planner-0', 'planner', 'agent', NODE]],
    );
    const dest = reg.resolveDestination(ip(2), undefined);
    assert.equal(dest?.kind, 'pod');
    assert.equal(dest?.app.name, 'flights');
    assert.equal(reg.podByIp(ip(3)), undefined, 'unmanaged namespace');
    assert.equal(
      reg.resolveDestination(ip(3), `planner.${ns}:8080`),
      undefined,
      'a known unmanaged pod never resolves by Host',
    );
    // Streams opened: never a cluster-wide Secret watch.
    const streams = source.status().streams.map((s) => s.stream);
    assert.ok(streams.includes(`secrets@ns/${ns}`));
    assert.ok(!streams.includes(`secrets@ns/${plain}`));
  });

  it('a MultiAgentSystem added, changed and removed changes membership, with a coalesced notification', async () => {
    const kube = fixture.kube;
    const ip = ips();
    const ns = await kube.newNamespace({ prefix: 'inv', labels: MANAGED });
    await kube.createPod({
      namespace: ns,
      name: 'planner-0',
      nodeName: NODE,
      podIP: ip(1),
      ownerReferences: statefulSetOwner('planner'),
    });
    const { reg } = await startSource(kube);
    assert.equal(reg.podByIp(ip(1)), undefined);
    let notified = 0;
    reg.onChange(() => notified++);

    await createMas(kube, ns, 'trip');
    await until('MAS added', () => reg.podByIp(ip(1))?.app.name === 'planner');
    await until('a change notification', () => notified > 0);

    await ok(
      kube.request(
        'PATCH',
        `/apis/casa.io/v1alpha1/namespaces/${ns}/multiagentsystems/trip`,
        {
          spec: {
            apps: [
              {
                name: 'planner',
                type: 'mcp_server',
                kubernetesWorkloadName: 'planner',
                baseUrl: { host: 'p:80', scheme: 'http' },
              },
            ],
          },
        },
        'application/merge-patch+json',
      ),
      'patch MAS',
    );
    await until('MAS changed', () => reg.podByIp(ip(1))?.type === 'mcp_server');
    assert.equal(reg.appByHost('p')?.app.name, 'planner');

    await ok(
      kube.request('DELETE', `/apis/casa.io/v1alpha1/namespaces/${ns}/multiagentsystems/trip`),
      'delete MAS',
    );
    await until('MAS removed', () => reg.podByIp(ip(1)) === undefined);
    assert.ok(!reg.multiAgentSystems().some((m) => m.ref.namespace === ns));
  });

  it('a client app is accepted from the pod label casa.io/app-type with the shipped CRD (whose enum lacks it)', async () => {
    const kube = fixture.kube;
    const ip = ips();
    const ns = await kube.newNamespace({ prefix: 'inv', labels: MANAGED });
    await createMas(kube, ns, 'trip');
    const refused = await kube.request('POST', `/apis/casa.io/v1alpha1/namespaces/${ns}/multiagentsystems`, {
      ...masBody(ns, 'with-client', []),
      spec: {
        name: 'x',
        apps: [
          {
            name: 'ui',
            type: 'client',
            kubernetesWorkloadName: 'ui',
            baseUrl: { host: 'ui', scheme: 'http' },
          },
        ],
      },
    });
    assert.equal(refused.status, 422, 'the shipped CRD refuses type client');
    await kube.createPod({
      namespace: ns,
      name: 'ui-0',
      nodeName: NODE,
      podIP: ip(1),
      labels: { 'casa.io/app': 'planner', 'casa.io/app-type': 'client' },
    });
    const { reg } = await startSource(kube);
    assert.equal(reg.podByIp(ip(1))?.type, 'client');
  });

  it('credentials follow the Secret: created, rotated, deleted; a labelled Secret carries the runtime app id', async () => {
    const kube = fixture.kube;
    const ns = await kube.newNamespace({ prefix: 'inv', labels: MANAGED });
    await createMas(kube, ns, 'trip');
    const { reg } = await startSource(kube);
    const planner = reg.appByWorkloadName(ns, 'planner');
    assert.ok(planner);
    assert.equal(reg.credentials(planner), undefined);
    const secrets = `/api/v1/namespaces/${ns}/secrets`;
    await ok(
      kube.request('POST', secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'planner-oauth2-credentials' },
        type: 'Opaque',
        stringData: { client_id: 'planner-client', client_secret: 'first' },
      }),
      'create Secret',
    );
    await until('credentials', () => reg.credentials(planner)?.clientSecret === 'first');
    await ok(
      kube.request(
        'PATCH',
        `${secrets}/planner-oauth2-credentials`,
        { stringData: { client_secret: 'second' } },
        'application/merge-patch+json',
      ),
      'rotate Secret',
    );
    await until('rotated credentials', () => reg.credentials(planner)?.clientSecret === 'second');
    await ok(kube.request('DELETE', `${secrets}/planner-oauth2-credentials`), 'delete Secret');
    await until('credentials gone', () => reg.credentials(planner) === undefined);

    const uuid = '6f1c1b7e-8d7a-4d8e-9b1f-2a3c4d5e6f70';
    await ok(
      kube.request('POST', secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: `${uuid}-oauth2-credentials`,
          labels: { 'casa.io/mas-name': 'trip', 'casa.io/app-name': 'flights' },
        },
        type: 'Opaque',
        stringData: {
          client_id: `http://runtime/${uuid}/oauth2/client-metadata.json`,
          client_secret: 'uuid-secret',
        },
      }),
      'create labelled Secret',
    );
    await until(
      'app id from the labelled Secret',
      () => reg.appByWorkloadName(ns, 'flights-mcp')?.appId === uuid,
    );
    const flights = reg.appByWorkloadName(ns, 'flights-mcp');
    assert.equal(flights && reg.credentials(flights)?.clientSecret, 'uuid-secret');
  });

  it('a pod deleted and its IP reused by a new pod: the new pod never inherits the old identity', async () => {
    const kube = fixture.kube;
    const ip = ips();
    const ns = await kube.newNamespace({ prefix: 'inv', labels: MANAGED });
    await createMas(kube, ns, 'trip');
    const old = await kube.createPod({
      namespace: ns,
      name: 'planner-0',
      nodeName: NODE,
      podIP: ip(1),
      ownerReferences: statefulSetOwner('planner'),
    });
    const { reg } = await startSource(kube);
    assert.equal(reg.podByIp(ip(1))?.podUid, old.metadata?.uid);

    await kube.deletePod(ns, 'planner-0');
    await until('old pod gone', () => reg.podByIp(ip(1)) === undefined);
    const reuse = await kube.createPod({
      namespace: ns,
      name: 'flights-mcp-0',
      nodeName: NODE,
      podIP: ip(1),
      ownerReferences: statefulSetOwner('flights-mcp'),
    });
    await until('IP reused', () => reg.podByIp(ip(1))?.podUid === reuse.metadata?.uid);
    assert.equal(reg.podByIp(ip(1))?.app.name, 'flights');

    // The new pod shows up before the old one is gone: the newest pod wins at once.
    await kube.createPod({ namespace: ns, name: 'stray', nodeName: NODE, podIP: ip(2) });
    await until(
      'stray pod seen',
      () => reg.stats().objects.Pod > 0 && reg.resolveAddress(ip(2)) === undefined,
    );
    await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has one-second resolution
    const newer = await kube.createPod({
      namespace: ns,
      name: 'planner-1',
      nodeName: NODE,
      podIP: ip(2),
      ownerReferences: statefulSetOwner('planner'),
    });
    await until('newest pod wins', () => reg.podByIp(ip(2))?.podUid === newer.metadata?.uid);
    assert.ok(reg.warnings().some((w) => w.startsWith(`IP ${ip(2)} is claimed by pods`)));
    await kube.deletePod(ns, 'stray');
    await until('conflict resolved', () => !reg.warnings().some((w) => w.startsWith(`IP ${ip(2)}`)));
  });

  it('a namespace losing casa.io/injection=enabled drops its pods and Secrets; relabelled, they return', async () => {
    const kube = fixture.kube;
    const ip = ips();
    const ns = await kube.newNamespace({ prefix: 'inv', labels: MANAGED });
    await createMas(kube, ns, 'trip');
    await kube.createPod({
      namespace: ns,
      name: 'flights-mcp-0',
      nodeName: 'node-b',
      podIP: ip(1),
      ownerReferences: statefulSetOwner('flights-mcp'),
    });
    const { reg, source } = await startSource(kube);
    assert.equal(reg.resolveDestination(ip(1), undefined)?.app.name, 'flights');
    await ok(
      kube.request(
        'PATCH',
        `/api/v1/namespaces/${ns}`,
        { metadata: { labels: { 'casa.io/injection': null } } },
        'application/merge-patch+json',
      ),
      'unlabel',
    );
    await until('namespace unmanaged', () => reg.resolveDestination(ip(1), undefined) === undefined);
    assert.ok(!source.status().managedNamespaces.includes(ns));
    assert.ok(!source.status().streams.some((s) => s.stream.endsWith(`/${ns}`)));
    await ok(
      kube.request(
        'PATCH',
        `/api/v1/namespaces/${ns}`,
        { metadata: { labels: MANAGED } },
        'application/merge-patch+json',
      ),
      'relabel',
    );
    await until(
      'namespace managed again',
      () => reg.resolveDestination(ip(1), undefined)?.app.name === 'flights',
    );
  });

  it('runs on least privilege: Secrets readable only where a Role grants them; a namespace without one is a warning', async () => {
    const kube = fixture.kube;
    const ip = ips();
    const granted = await kube.newNamespace({ prefix: 'inv', labels: MANAGED });
    const denied = await kube.newNamespace({ prefix: 'inv', labels: MANAGED });
    const agentNs = await kube.newNamespace({ prefix: 'agent' });
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    const name = `casa-inventory-${agentNs}`;
    const subject = [{ kind: 'ServiceAccount', name: 'agent', namespace: agentNs }];
    await ok(
      kube.request('POST', `${rbac}/clusterroles`, {
        metadata: { name },
        rules: [
          { apiGroups: [''], resources: ['pods', 'namespaces', 'services'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: ['casa.io'], resources: ['multiagentsystems'], verbs: ['get', 'list', 'watch'] },
        ],
      }),
      'cluster role',
    );
    await ok(
      kube.request('POST', `${rbac}/clusterrolebindings`, {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: subject,
      }),
      'cluster role binding',
    );
    await ok(
      kube.request('POST', `${rbac}/namespaces/${granted}/roles`, {
        metadata: { name: 'app-credentials' },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }],
      }),
      'role',
    );
    await ok(
      kube.request('POST', `${rbac}/namespaces/${granted}/rolebindings`, {
        metadata: { name: 'app-credentials' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'app-credentials' },
        subjects: subject,
      }),
      'role binding',
    );
    const token = await kube.createServiceAccountToken({ namespace: agentNs, serviceAccount: 'agent' });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: kube.url, caFile: kube.caFile, skipTLSVerify: false }],
      users: [{ name: 'agent', token }],
      contexts: [{ name: 'agent', cluster: 'test', user: 'agent' }],
      currentContext: 'agent',
    });
    // What these credentials could read if the node were compromised: no Secret outside the granted namespace.
    const asAgent = kubeRequest(kube.url, token, readFileSync(kube.caFile, 'utf8'));
    try {
      assert.equal((await asAgent('GET', '/api/v1/secrets')).status, 403);
      assert.equal((await asAgent('GET', `/api/v1/namespaces/${denied}/secrets`)).status, 403);
      assert.equal((await asAgent('GET', `/api/v1/namespaces/${granted}/secrets`)).status, 200);
    } finally {
      await asAgent.close();
    }
    for (const ns of [granted, denied]) {
      await createMas(kube, ns, 'trip');
      await ok(
        kube.request('POST', `/api/v1/namespaces/${ns}/secrets`, {
          metadata: { name: 'planner-oauth2-credentials' },
          stringData: { client_id: 'c', client_secret: `secret-of-${ns}` },
        }),
        'secret',
      );
    }
    await kube.createPod({
      namespace: granted,
      name: 'planner-0',
      nodeName: NODE,
      podIP: ip(1),
      ownerReferences: statefulSetOwner('planner'),
    });

    const reg = new WorkloadRegistry({ nodeName: NODE });
    const source = new KubeSource({
      api: new KubeConfigApi(kc),
      sink: reg,
      nodeName: NODE,
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    running.push({ reg, source, restarts: [] });
    await source.start();
    assert.equal(source.synced, true, 'a namespace without a Role must not keep the agent unready');
    const planner = reg.podByIp(ip(1));
    assert.equal(planner && reg.credentials(planner)?.clientSecret, `secret-of-${granted}`);
    const other = reg.appByWorkloadName(denied, 'planner');
    assert.equal(other && reg.credentials(other), undefined);
    assert.ok(
      reg.warnings().some((w) => w.startsWith(`stream secrets@ns/${denied}`) && w.includes('HTTP 403')),
      reg.warnings().join('\n'),
    );
  });

  it('the file source and the Kubernetes source give the same events and the same answers for the same objects', async () => {
    const kube = fixture.kube;
    const ip = ips();
    const ns = await kube.newNamespace({ prefix: 'inv', labels: MANAGED });
    const secretObj = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'planner-oauth2-credentials', namespace: ns },
      type: 'Opaque',
      stringData: { client_id: 'c', client_secret: 's' },
    };
    const serviceObj = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'planner', namespace: ns },
      spec: { ports: [{ port: 8080, protocol: 'TCP' }], selector: { app: 'planner' } },
    };
    await createMas(kube, ns, 'trip');
    await ok(kube.request('POST', `/api/v1/namespaces/${ns}/secrets`, secretObj), 'secret');
    const svc = (await ok(
      kube.request('POST', `/api/v1/namespaces/${ns}/services`, serviceObj),
      'service',
    )) as {
      spec: { clusterIP: string };
    };
    const pods = [
      { name: 'planner-0', nodeName: NODE, podIP: ip(1), owner: 'planner' },
      { name: 'flights-mcp-0', nodeName: 'node-b', podIP: ip(2), owner: 'flights-mcp' },
    ];
    for (const p of pods) {
      await kube.createPod({
        namespace: ns,
        name: p.name,
        nodeName: p.nodeName,
        podIP: p.podIP,
        ownerReferences: statefulSetOwner(p.owner),
      });
    }
    const dir = mkdtempSync(join(tmpdir(), 'casa-inv-e2e-'));
    try {
      const docs = [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: MANAGED } },
        masBody(ns, 'trip', APPS),
        secretObj,
        { ...serviceObj, spec: { ...serviceObj.spec, clusterIP: svc.spec.clusterIP } },
        ...pods.map((p) => ({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: p.name, namespace: ns, ownerReferences: statefulSetOwner(p.owner) },
          spec: { nodeName: p.nodeName, containers: [{ name: 'app', image: 'x' }] },
          status: { phase: 'Running', podIP: p.podIP, podIPs: [{ ip: p.podIP }] },
        })),
      ];
      writeFileSync(join(dir, 'objects.yaml'), docs.map((d) => stringify(d)).join('---\n'));

      const seen = (events: InventoryEvent[]) =>
        events
          .filter((e) => e.type !== 'problem' && (e.object.key === ns || e.object.key.startsWith(`${ns}/`)))
          .map((e) => (e.type === 'problem' ? '' : `${e.type} ${e.object.kind} ${e.object.key}`))
          .sort();
      const fileEvents: InventoryEvent[] = [];
      const fileReg = new WorkloadRegistry({ nodeName: NODE });
      const file = new FileSource({
        dir,
        rescanMs: 0,
        sink: { apply: (e) => recordInto(fileEvents, fileReg, e) },
      });
      await file.start();
      await file.stop();
      const kubeEvents: InventoryEvent[] = [];
      const kubeReg = new WorkloadRegistry({ nodeName: NODE });
      const source = new KubeSource({
        api: new KubeConfigApi(kube.kubeConfig),
        sink: { apply: (e) => recordInto(kubeEvents, kubeReg, e) },
        nodeName: NODE,
      });
      running.push({ reg: kubeReg, source, restarts: [] });
      await source.start();

      assert.deepEqual(seen(kubeEvents), seen(fileEvents));
      assert.equal(seen(fileEvents).length, 6);
      for (const reg of [fileReg, kubeReg]) {
        assert.deepEqual(
          reg
            .localWorkloads()
            .filter((w) => w.namespace === ns)
            .map((w) => [w.podName, w.app.name, w.type]),
          [['planner-0', 'planner', 'agent']],
        );
        assert.equal(reg.resolveDestination(ip(2), undefined)?.app.name, 'flights');
        assert.equal(reg.resolveDestination(svc.spec.clusterIP, undefined)?.app.name, 'planner');
        const planner = reg.appByWorkloadName(ns, 'planner');
        assert.equal(planner && reg.credentials(planner)?.clientSecret, 's');
      }
      fileReg.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the apiserver stopped and restarted: the last state is served meanwhile, watches recover, no stale entries remain', async () => {
    const kube = fixture.kube;
    const ip = ips();
    const ns = await kube.newNamespace({ prefix: 'inv', labels: MANAGED });
    await createMas(kube, ns, 'trip');
    await kube.createPod({
      namespace: ns,
      name: 'planner-0',
      nodeName: NODE,
      podIP: ip(1),
      ownerReferences: statefulSetOwner('planner'),
    });
    await kube.createPod({
      namespace: ns,
      name: 'flights-mcp-0',
      nodeName: 'node-b',
      podIP: ip(2),
      ownerReferences: statefulSetOwner('flights-mcp'),
    });
    const { reg, source, restarts } = await startSource(kube);

    await kube.apiserver.stop();
    await until('a watch noticed', () => restarts.length > 0);
    // Decisions keep their inventory while the control plane is away.
    assert.equal(reg.podByIp(ip(1))?.app.name, 'planner');
    assert.equal(reg.resolveDestination(ip(2), undefined)?.app.name, 'flights');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(reg.podByIp(ip(1))?.app.name, 'planner');

    await kube.apiserver.start();
    // Changes right after the restart, possibly before the agent reconnects.
    await kube.deletePod(ns, 'planner-0');
    await kube.createPod({
      namespace: ns,
      name: 'planner-1',
      nodeName: NODE,
      podIP: ip(3),
      ownerReferences: statefulSetOwner('planner'),
    });
    await kube.deletePod(ns, 'flights-mcp-0');

    await until('recovered', () => reg.podByIp(ip(3))?.podName === 'planner-1');
    await until(
      'no stale entries',
      () => reg.podByIp(ip(1)) === undefined && reg.resolveDestination(ip(2), undefined) === undefined,
    );
    await until('every stream connected again', () => source.status().streams.every((s) => s.connected));
    // The registry's pods of this namespace are exactly the apiserver's.
    const listed = (await ok(kube.request('GET', `/api/v1/namespaces/${ns}/pods`), 'list pods')) as {
      items: { metadata: { uid: string } }[];
    };
    const workloads = [...reg.localWorkloads(), ...[ip(1), ip(2), ip(3)].map((a) => reg.podByIp(a))]
      .filter((w) => w?.namespace === ns)
      .map((w) => w?.podUid);
    assert.deepEqual(
      [...new Set(workloads)],
      listed.items.map((p) => p.metadata.uid),
    );
    assert.ok(restarts.includes('error') || restarts.includes('closed'));
  });
});
