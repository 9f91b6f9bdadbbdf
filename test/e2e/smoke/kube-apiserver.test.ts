// The test control plane is a real one and can say no: the real Cilium CRD
// schema accepts a valid CiliumClusterwideEnvoyConfig and refuses broken ones
// with the field named; pods, tokens, RBAC and an apiserver restart behave as
// the e2e suites rely on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApiException,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
} from '@kubernetes/client-node';
import { defaultCrdDir, useKube } from '../../harness/kube.js';
import { readCrds } from '../../harness/kube-crds.js';

const fixture = useKube();

const CCEC = { group: 'cilium.io', version: 'v2', plural: 'ciliumclusterwideenvoyconfigs' };

function envoyConfig(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideEnvoyConfig', metadata: { name }, spec };
}

const listener = {
  '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
  name: 'casa-smoke',
};

describe('the real CRD schema', { skip: fixture.skip }, () => {
  it('every CRD of shared/crds is installed and served', async () => {
    const want = readCrds(defaultCrdDir())
      .map((c) => c.metadata.name)
      .sort();
    assert.deepEqual([...fixture.kube.crds].sort(), want);
    const res = await fixture.kube.request('GET', '/apis/cilium.io/v2');
    assert.equal(res.status, 200);
    const served = (res.body as { resources: { name: string }[] }).resources.map((r) => r.name);
    for (const plural of ['ciliumclusterwideenvoyconfigs', 'ciliumenvoyconfigs', 'ciliumnetworkpolicies']) {
      assert.ok(served.includes(plural), `${plural} not in discovery: ${served}`);
    }
  });

  it('accepts a valid CiliumClusterwideEnvoyConfig (through @kubernetes/client-node)', async () => {
    const api = fixture.kube.kubeConfig.makeApiClient(CustomObjectsApi);
    const body = envoyConfig('casa-smoke-valid', {
      resources: [listener],
      nodeSelector: { matchLabels: { 'kubernetes.io/os': 'linux' } },
    });
    await api.createClusterCustomObject({ ...CCEC, body });
    const read = (await api.getClusterCustomObject({ ...CCEC, name: 'casa-smoke-valid' })) as {
      spec: { resources: unknown[] };
    };
    assert.deepEqual(read.spec.resources, [listener]);
  });

  const broken: [string, Record<string, unknown>, RegExp][] = [
    [
      'an operator outside the enum',
      { nodeSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } },
      /spec\.nodeSelector\.matchExpressions\[0\]\.operator: Unsupported value: "Near"/,
    ],
    ['resources that are not a list', { resources: 'listener' }, /spec\.resources: Invalid value: "string"/],
    [
      'a backend service without its required name',
      { backendServices: [{ namespace: 'a' }] },
      /name: Required/,
    ],
    ['a label value breaking the pattern', { nodeSelector: { matchLabels: { a: '-x-' } } }, /matchLabels\.a/],
  ];
  for (const [name, spec, message] of broken) {
    it(`refuses a CiliumClusterwideEnvoyConfig with ${name}`, async () => {
      const res = await fixture.kube.request(
        'POST',
        `/apis/cilium.io/v2/ciliumclusterwideenvoyconfigs?fieldValidation=Strict`,
        envoyConfig(`casa-smoke-${name.replace(/[^a-z]+/g, '-')}`, spec),
      );
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.match((res.body as { message: string }).message, message);
    });
  }

  it('refuses an unknown field under strict field validation', async () => {
    const res = await fixture.kube.request(
      'POST',
      `/apis/cilium.io/v2/ciliumclusterwideenvoyconfigs?fieldValidation=Strict`,
      envoyConfig('casa-smoke-unknown', { resources: [], nodeSelectr: {} }),
    );
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match((res.body as { message: string }).message, /unknown field "spec\.nodeSelectr"/);
  });
});

describe('objects without kubelet or controllers', { skip: fixture.skip }, () => {
  it('namespaces are unique and carry the labels asked for', async () => {
    const kube = fixture.kube;
    const a = await kube.newNamespace({ labels: { 'casa.io/mas': 'travel' } });
    const b = await kube.newNamespace({ labels: { 'casa.io/mas': 'travel' } });
    assert.notEqual(a, b);
    const ns = await kube.kubeConfig.makeApiClient(CoreV1Api).readNamespace({ name: a });
    assert.equal(ns.metadata?.labels?.['casa.io/mas'], 'travel');
  });

  it('a pod is bound to its node, Running with the IPs patched in, and deleted at once', async () => {
    const kube = fixture.kube;
    const namespace = await kube.newNamespace();
    const pod = await kube.createPod({
      namespace,
      name: 'planner-0',
      nodeName: 'node-a',
      podIP: '10.1.0.7',
      extraPodIPs: ['fd00::7'],
      labels: { app: 'planner' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'planner', uid: 'u-1', controller: true },
      ],
    });
    assert.equal(pod.spec?.nodeName, 'node-a');
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const read = await core.readNamespacedPod({ namespace, name: 'planner-0' });
    assert.equal(read.status?.podIP, '10.1.0.7');
    assert.deepEqual(
      read.status?.podIPs?.map((p) => p.ip),
      ['10.1.0.7', 'fd00::7'],
    );
    assert.equal(read.status?.phase, 'Running');
    assert.equal(read.metadata?.ownerReferences?.[0]?.name, 'planner');
    await kube.deletePod(namespace, 'planner-0');
    await assert.rejects(core.readNamespacedPod({ namespace, name: 'planner-0' }), (err: unknown) => {
      return err instanceof ApiException && err.code === 404;
    });
  });

  it('a pod created without an IP stays Pending without one', async () => {
    const kube = fixture.kube;
    const namespace = await kube.newNamespace();
    const pod = await kube.createPod({ namespace, name: 'pending', nodeName: 'node-a' });
    assert.equal(pod.status?.podIP, undefined);
  });

  it('a TokenRequest token authenticates as its service account, with its audience', async () => {
    const kube = fixture.kube;
    const namespace = await kube.newNamespace();
    const token = await kube.createServiceAccountToken({
      namespace,
      serviceAccount: 'planner',
      audiences: ['casa'],
    });
    const review = await kube.kubeConfig.makeApiClient(AuthenticationV1Api).createTokenReview({
      body: { spec: { token, audiences: ['casa'] } },
    });
    assert.equal(review.status?.authenticated, true, JSON.stringify(review.status));
    assert.equal(review.status?.user?.username, `system:serviceaccount:${namespace}:planner`);
    const wrongAudience = await kube.kubeConfig.makeApiClient(AuthenticationV1Api).createTokenReview({
      body: { spec: { token, audiences: ['someone-else'] } },
    });
    assert.notEqual(wrongAudience.status?.authenticated, true);
  });

  it('RBAC is enforced: a service account without a role may not list pods', async () => {
    const kube = fixture.kube;
    const namespace = await kube.newNamespace();
    const token = await kube.createServiceAccountToken({ namespace, serviceAccount: 'nobody' });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: kube.url, caFile: kube.caFile }],
      users: [{ name: 'u', token }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    await assert.rejects(kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace }), (err: unknown) => {
      return err instanceof ApiException && err.code === 403;
    });
  });
});

// Last in the file: it takes the apiserver away for a moment.
describe('apiserver restart', { skip: fixture.skip }, () => {
  it('stops and starts the apiserver alone; what was stored survives in etcd', async () => {
    const kube = fixture.kube;
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const namespace = await kube.newNamespace();
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'kept' }, data: { a: '1' } },
    });
    const created = await kube.request(
      'POST',
      '/apis/cilium.io/v2/ciliumclusterwideenvoyconfigs',
      envoyConfig('casa-smoke-restart', { resources: [listener] }),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await kube.apiserver.stop();
    assert.equal(kube.apiserver.running, false);
    await assert.rejects(kube.request('GET', '/readyz'));
    await kube.apiserver.start();
    assert.equal(kube.apiserver.running, true);
    const cm = await core.readNamespacedConfigMap({ namespace, name: 'kept' });
    assert.equal(cm.data?.a, '1');
    const ccec = await kube.request(
      'GET',
      '/apis/cilium.io/v2/ciliumclusterwideenvoyconfigs/casa-smoke-restart',
    );
    assert.equal(ccec.status, 200);
  });
});
