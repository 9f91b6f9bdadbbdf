// The agent as the chart deploys it, minus the kubelet: `helm install` into a
// real kube-apiserver, then `casa-agent run --inventory kubernetes` as a real
// process authenticated with a TokenRequest token of the chart's
// ServiceAccount — exactly the RBAC the chart grants. It must become ready,
// see this node's workloads and the credentials of the namespaces the chart
// lets it read, obtain a client's T1 with those credentials, and be refused
// every Secret beyond that grant.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { masResource } from '../../../src/agent/dev/manifests.js';
import { AppRegistry, ReferenceRuntime, type RuntimeApp } from '../../../src/agent/dev/runtime/index.js';
import type { AgentState } from '../../../src/agent/diag/state.js';
import { packageRoot } from '../../../src/agent/paths.js';
import type { MultiAgentSystem } from '../../../src/policy/types.js';
import { useKube, waitFor } from '../../harness/kube.js';
import { kubeRequest } from '../../harness/kube-request.js';
import { requirePeer } from '../../harness/peers.js';
import { freePort, ProcessGroup } from '../../harness/processes.js';
import { AuthzClient } from '../../support/authz-client.js';
import { a2aSend, newTraceId, traceparent } from '../../support/casa-world.js';

const fixture = useKube();
const helm = requirePeer('helm');
const CHART = join(packageRoot(), 'daemonset');
const MAIN = join(packageRoot(), process.env.CASA_DIST ?? 'dist', 'src/agent/cli/main.js');
const NODE = 'node-a';
const RELEASE = 'rel';
const MANAGED = { 'casa.io/injection': 'enabled' };
const PROMPT = '{.params.message.parts[0].text}';
const IP = { web: '10.44.0.10', planner: '10.44.0.11', elsewhere: '10.44.0.20' };

function mas(namespace: string, name: string, apps: { name: string; type: 'client' | 'agent' }[]) {
  const spec: MultiAgentSystem = {
    ref: { namespace, name },
    llmHost: 'llm.example.com',
    apps: apps.map((a) => ({
      name: a.name,
      type: a.type,
      kubernetesWorkloadName: a.name,
      baseUrl: { host: `${a.name}.${namespace}:8000`, scheme: 'http' as const },
      // The agent is the entry point: the prompt of an A2A message/send.
      ...(a.type === 'agent' ? { promptFieldJsonPath: PROMPT } : {}),
    })),
  };
  // The shipped CRD's enum lacks `client`: CASA marks a client by the pod label casa.io/app-type.
  const body = masResource(spec, { clientAsAgent: true });
  return { spec, body };
}

async function ok(res: Promise<{ status: number; body: unknown }>, what: string): Promise<void> {
  const r = await res;
  assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
}

describe('casa-agent run on exactly the chart’s RBAC', { skip: fixture.skip ?? helm.skip }, () => {
  let runtime: ReferenceRuntime;
  let procs: ProcessGroup;
  let agent: ChildProcess | undefined;
  let client: AuthzClient | undefined;

  before(async () => {
    runtime = await ReferenceRuntime.start();
    procs = new ProcessGroup(mkdtempSync(join(tmpdir(), 'casa-chart-rbac-')));
  });
  after(async () => {
    client?.close();
    await procs?.close();
    await runtime?.close();
  });

  it('becomes ready, reads only the granted credentials, gets a client’s T1 with them, and is refused other Secrets', async () => {
    const kube = fixture.kube;
    const agentNs = await kube.newNamespace({ prefix: 'casa' });
    const appNs = await kube.newNamespace({ prefix: 'travel', labels: MANAGED });
    // Managed as well, but the chart was not told to grant its Secrets.
    const otherNs = await kube.newNamespace({ prefix: 'other', labels: MANAGED });

    const install = spawnSync(
      helm.path,
      ['install', RELEASE, CHART, '-n', agentNs, '--set', `rbac.secretNamespaces={${appNs}}`],
      {
        encoding: 'utf8',
        env: { ...process.env, HELM_CACHE_HOME: undefined, KUBECONFIG: kube.kubeconfigPath },
        timeout: 120_000,
      },
    );
    assert.equal(install.status, 0, install.stderr);

    // The MAS apps, their pods on this node and their credential Secrets, as CASA's operator leaves them.
    const travel = mas(appNs, 'trip', [
      { name: 'web', type: 'client' },
      { name: 'planner', type: 'agent' },
    ]);
    const other = mas(otherNs, 'elsewhere', [{ name: 'scout', type: 'client' }]);
    const apps: RuntimeApp[] = [
      ...runtime.registerMas(travel.spec, { appIds: { web: 'web', planner: 'planner' } }),
      ...runtime.registerMas(other.spec, { appIds: { scout: 'scout' } }),
    ];
    for (const m of [travel, other]) {
      await ok(
        kube.request(
          'POST',
          `/apis/casa.io/v1alpha1/namespaces/${m.spec.ref.namespace}/multiagentsystems`,
          m.body,
        ),
        `MAS ${m.spec.ref.name}`,
      );
    }
    for (const app of apps) {
      await ok(
        kube.request('POST', `/api/v1/namespaces/${app.namespace}/secrets`, AppRegistry.secretFor(app)),
        `Secret of ${app.name}`,
      );
    }
    for (const [name, ns, ip] of [
      ['web', appNs, IP.web],
      ['planner', appNs, IP.planner],
      ['scout', otherNs, IP.elsewhere],
    ] as const) {
      await kube.createPod({
        namespace: ns,
        name: `${name}-0`,
        nodeName: NODE,
        podIP: ip,
        labels: { 'casa.io/app': name, ...(name === 'planner' ? {} : { 'casa.io/app-type': 'client' }) },
      });
    }

    // The chart's ServiceAccount, authenticated the way a pod's projected token is.
    const sa = `${RELEASE}-casa-node-agent`;
    const token = await kube.createServiceAccountToken({ namespace: agentNs, serviceAccount: sa });
    const kubeconfig = join(procs.dir, 'agent.kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: test, cluster: {server: "${kube.url}", certificate-authority: "${kube.caFile}"}}]`,
        `users: [{name: agent, user: {token: "${token}"}}]`,
        'contexts: [{name: test, context: {cluster: test, user: agent}}]',
        'current-context: test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );

    const [authz, xds, diag] = [await freePort(), await freePort(), await freePort()];
    agent = procs.spawn('casa-agent', process.execPath, [
      MAIN,
      'run',
      '--inventory',
      'kubernetes',
      '--kubeconfig',
      kubeconfig,
      '--node-name',
      NODE,
      '--runtime-url',
      runtime.url,
      '--authz-listen',
      `127.0.0.1:${authz}`,
      '--xds-listen',
      `127.0.0.1:${xds}`,
      '--diag-listen',
      `127.0.0.1:${diag}`,
    ]);
    const exited = new Promise<number | null>((resolve) => agent?.once('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${diag}`;
    await waitFor('the agent ready (inventory synced, runtime reached)', 30_000, async () => {
      if (agent?.exitCode !== null) throw new Error(`the agent exited:\n${procs.tail.text()}`);
      return (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200;
    });

    const credentialsOf = async (app: string) => {
      const state = (await (await fetch(`${base}/debug/state`)).json()) as AgentState;
      return state.inventory.localWorkloads.find((w) => w.app === app)?.credentials;
    };
    await waitFor('web and planner with their credentials', 15_000, async () => {
      return (await credentialsOf('web')) === true && (await credentialsOf('planner')) === true;
    });
    // scout's namespace is managed, so its pod is a workload — but its Secret is beyond the grant.
    assert.equal(await credentialsOf('scout'), false);

    // A client's first request of a trace: a T1 issued with web's credentials, read from its Secret.
    runtime.resetCalls();
    client = new AuthzClient(`127.0.0.1:${authz}`);
    const r = await client.check({
      source: { ip: IP.web, port: 40000 },
      destination: { ip: IP.planner, port: 8000 },
      path: '/',
      host: `planner.${appNs}:8000`,
      headers: { traceparent: traceparent(newTraceId()), 'content-type': 'application/json' },
      body: a2aSend('Plan a trip to Lisbon'),
    });
    assert.equal(r.allowed, true, r.body);
    assert.equal(runtime.calls('token'), 1, 'one T1 for web');
    // scout has no credentials here: its first request is denied, with a reason, without a T1.
    runtime.resetCalls();
    const denied = await client.check({
      source: { ip: IP.elsewhere, port: 40000 },
      destination: { ip: IP.planner, port: 8000 },
      path: '/',
      host: `planner.${appNs}:8000`,
      headers: { traceparent: traceparent(newTraceId()), 'content-type': 'application/json' },
      body: a2aSend('Plan a trip to Lisbon'),
    });
    assert.equal(denied.allowed, false);
    assert.ok(denied.reason, 'a deny names its reason');
    assert.equal(runtime.calls('token'), 0);

    // Exactly the grant: the Secrets of other namespaces, and the list across the cluster, are refused.
    const asAgent = kubeRequest(kube.url, token, readFileSync(kube.caFile, 'utf8'));
    try {
      for (const path of [
        `/api/v1/namespaces/${otherNs}/secrets`,
        `/api/v1/namespaces/${otherNs}/secrets/scout-oauth2-credentials`,
        `/api/v1/namespaces/${agentNs}/secrets`,
        '/api/v1/secrets',
      ]) {
        assert.equal((await asAgent('GET', path)).status, 403, path);
      }
      assert.equal(
        (await asAgent('GET', `/api/v1/namespaces/${appNs}/secrets/web-oauth2-credentials`)).status,
        200,
      );
    } finally {
      await asAgent.close();
    }

    agent.kill('SIGTERM');
    assert.equal(await exited, 0, procs.tail.text());
  });
});
