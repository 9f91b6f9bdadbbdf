// The whole agent with in-cluster apply on: two real `casa-agent run`
// processes (kubernetes inventory, --apply-cluster-objects, short Lease
// timings) against a real kube-apiserver with the real Cilium and CASA CRDs,
// and the reference runtime so that they become ready. What is checked comes
// from outside the processes only: their /debug/state and /metrics, the Lease,
// and the live objects, compared with what `casa-agent render` prints for the
// cluster's MultiAgentSystems and Services.
//
// Each agent listens on its own loopback ports (two processes on one host), so
// each renders its own ext_authz/xDS targets into the Envoy configs: the
// expected objects are always the render for the current leader's settings.
// (In a cluster every agent has the same ports and renders the same objects.)
import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Watch } from '@kubernetes/client-node';
import { request as httpRequest } from 'undici';
import {
  APPLY_LEASE,
  FIELD_MANAGER,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
} from '../../../src/agent/apply/index.js';
import { ReferenceRuntime } from '../../../src/agent/dev/runtime/index.js';
import { packageRoot } from '../../../src/agent/paths.js';
import type { KubernetesObject } from '../../../src/agent/render/kubernetes-object.js';
import { useKube } from '../../harness/kube.js';
import { freePort, ProcessGroup } from '../../harness/processes.js';
import {
  CCEC,
  CCNP,
  createEnvoyConfig,
  getLive,
  leaseHolder,
  MANAGED,
  masBody,
  ok,
  until,
} from './support.js';

const run = promisify(execFile);
// The CLI of the same build the tests run from (CASA_DIST for parallel builds).
const distMain = join(packageRoot(), process.env.CASA_DIST ?? 'dist', 'src/agent/cli/main.js');

const fixture = useKube();

interface Agent {
  readonly podName: string;
  readonly authz: string;
  readonly xds: string;
  readonly diag: string;
  readonly child: ChildProcess;
  /** Resolves with the exit of the process. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

interface ApplySection {
  enabled: boolean;
  lastOutcome?: string;
  lastSuccessAt?: string;
  election: { leader: boolean; holder?: string; identity: string };
}

let runtime: ReferenceRuntime | undefined;
let group: ProcessGroup | undefined;
before(async () => {
  if (fixture.skip) return;
  runtime = await ReferenceRuntime.start();
  group = new ProcessGroup(mkdtempSync(join(tmpdir(), 'casa-agents-')));
});
after(async () => {
  // Every agent process (and its group) is stopped, also when a test failed.
  await group?.close();
  await runtime?.close();
});

async function startAgent(podName: string, agentNamespace: string): Promise<Agent> {
  const g = group as ProcessGroup;
  const [authz, xds, diag] = [await freePort(), await freePort(), await freePort()].map(
    (p) => `127.0.0.1:${p}`,
  ) as [string, string, string];
  const child = g.spawn(podName, process.execPath, [
    distMain,
    'run',
    '--inventory=kubernetes',
    `--kubeconfig=${fixture.kube.kubeconfigPath}`,
    `--node-name=node-${podName}`,
    `--pod-name=${podName}`,
    `--agent-namespace=${agentNamespace}`,
    `--runtime-url=${(runtime as ReferenceRuntime).url}`,
    `--authz-listen=${authz}`,
    `--xds-listen=${xds}`,
    `--diag-listen=${diag}`,
    '--drain-timeout=200ms',
    '--apply-cluster-objects=true',
    '--apply-lease-duration=3s',
    '--apply-renew-deadline=2s',
    '--apply-retry-period=200ms',
    // Short, so that a hand-deleted object comes back without any other trigger.
    '--apply-resync=2s',
  ]);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { podName, authz, xds, diag, child, exited };
}

function logs(): string {
  return group?.tail.text(80) ?? '';
}

async function diagGet(agent: Agent, path: string): Promise<{ status: number; text: string }> {
  const res = await httpRequest(`http://${agent.diag}${path}`);
  return { status: res.statusCode, text: await res.body.text() };
}

/** The agent's `apply` section of /debug/state; undefined while it does not answer. */
async function applyState(agent: Agent): Promise<ApplySection | undefined> {
  try {
    const r = await diagGet(agent, '/debug/state');
    if (r.status !== 200) return undefined;
    return (JSON.parse(r.text) as { apply?: ApplySection }).apply;
  } catch {
    return undefined;
  }
}

/** casa_apply_leader from /metrics. */
async function leaderMetric(agent: Agent): Promise<number | undefined> {
  const r = await diagGet(agent, '/metrics');
  const line = r.text.split('\n').find((l) => /^casa_apply_leader(\{[^}]*\})? /.test(l));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

async function ready(agent: Agent): Promise<boolean> {
  try {
    return (await diagGet(agent, '/readyz')).status === 200;
  } catch {
    return false;
  }
}

/**
 * What `casa-agent render --dataplane cilium` prints for the cluster's
 * MultiAgentSystems and Services (as `kubectl get -A -o json` would hand them
 * over), with `agent`'s listen settings.
 */
async function rendered(agent: Agent): Promise<KubernetesObject[]> {
  const kube = fixture.kube;
  const list = async (path: string, apiVersion: string, kind: string) => {
    const body = (await ok(kube.request('GET', path), path)) as { items: object[] };
    return body.items.map((item) => ({ apiVersion, kind, ...item }));
  };
  const items = [
    ...(await list('/apis/casa.io/v1alpha1/multiagentsystems', 'casa.io/v1alpha1', 'MultiAgentSystem')),
    ...(await list('/api/v1/services', 'v1', 'Service')),
  ];
  const file = join((group as ProcessGroup).dir, `cluster-${Date.now()}-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  const { stdout } = await run(process.execPath, [
    distMain,
    'render',
    '--dataplane=cilium',
    '--output=json',
    `--mas=${file}`,
    `--authz-listen=${agent.authz}`,
    `--xds-listen=${agent.xds}`,
  ]);
  return (JSON.parse(stdout) as { items: KubernetesObject[] }).items;
}

/** Differences between the live objects and the render for `agent` (empty: equal). */
async function differences(agent: Agent): Promise<string[]> {
  const want = await rendered(agent);
  const out: string[] = [];
  for (const obj of want) {
    const live = await getLive(fixture.kube.request, obj);
    const id = `${obj.kind}/${obj.metadata.name}`;
    if (!live) out.push(`${id}: missing`);
    else if (JSON.stringify(live.spec) !== JSON.stringify(obj.spec)) {
      try {
        assert.deepEqual(live.spec, obj.spec);
      } catch (err) {
        out.push(`${id}: ${(err as Error).message.slice(0, 800)}`);
      }
    }
  }
  // Nothing else carries our label.
  const names = new Set(want.map((o) => `${o.kind}/${o.metadata.name}`));
  for (const [path, kind] of [
    [CCEC, 'CiliumClusterwideEnvoyConfig'],
    [CCNP, 'CiliumClusterwideNetworkPolicy'],
  ] as const) {
    const selector = encodeURIComponent(`${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`);
    const body = (await ok(fixture.kube.request('GET', `${path}?labelSelector=${selector}`), path)) as {
      items: { metadata: { name: string } }[];
    };
    for (const item of body.items) {
      if (!names.has(`${kind}/${item.metadata.name}`))
        out.push(`${kind}/${item.metadata.name}: not rendered`);
    }
  }
  return out;
}

async function untilEqualsRender(agent: Agent, what: string): Promise<void> {
  let last: string[] = [];
  try {
    await until(
      what,
      async () => {
        last = await differences(agent);
        return last.length === 0;
      },
      60_000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${last.join('\n')}\n${logs()}`);
  }
}

/** The agents whose /debug/state says they lead. */
async function leaders(agents: readonly Agent[]): Promise<Agent[]> {
  const states = await Promise.all(agents.map(applyState));
  return agents.filter((_, i) => states[i]?.election.leader === true);
}

async function policyText(): Promise<string> {
  const live = await getLive(fixture.kube.request, {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: { name: 'casa-node-agent' },
  } as KubernetesObject);
  return JSON.stringify(live?.spec ?? null);
}

async function createService(ns: string, name: string, port: number): Promise<void> {
  await ok(
    fixture.kube.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { ports: [{ port, protocol: 'TCP' }], selector: { app: name } },
    } as KubernetesObject),
    `service ${name}`,
  );
}

/** Follows the Lease's holder through a watch, every update in order. */
async function watchHolders(agentNs: string): Promise<{ holders: string[]; stop(): void }> {
  const kube = fixture.kube;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${agentNs}/leases`;
  const current = (await ok(kube.request('GET', `${path}/${APPLY_LEASE}`), 'lease')) as {
    metadata: { resourceVersion: string };
  };
  const holders: string[] = [];
  const controller = await new Watch(kube.kubeConfig).watch(
    path,
    { fieldSelector: `metadata.name=${APPLY_LEASE}`, resourceVersion: current.metadata.resourceVersion },
    (_phase, obj: { spec?: { holderIdentity?: string } }) => {
      // A released Lease has no holder (''): client-go's release.
      const holder = obj.spec?.holderIdentity ?? '';
      if (holders[holders.length - 1] !== holder) holders.push(holder);
    },
    () => {},
  );
  return { holders, stop: () => controller.abort() };
}

describe('two casa-agent run processes with applyClusterObjects', {
  skip: fixture.skip,
  concurrency: false,
}, () => {
  let agentNs: string;
  let appNs: string;
  let agents: Agent[] = [];
  let leader: Agent;
  let follower: Agent;

  it('both become ready; exactly one leads (its /debug/state, /metrics and the Lease agree) and the objects equal casa-agent render', async () => {
    const kube = fixture.kube;
    agentNs = await kube.newNamespace({ prefix: 'casa' });
    appNs = await kube.newNamespace({ prefix: 'travel', labels: MANAGED });
    await createService(appNs, 'planner', 8000);
    await ok(kube.apply(masBody(appNs, 'trip', 'llm.example.com', [{ name: 'planner', port: 8000 }])), 'MAS');
    agents = [await startAgent('casa-agent-a', agentNs), await startAgent('casa-agent-b', agentNs)];
    try {
      await until('both agents ready', async () => (await Promise.all(agents.map(ready))).every(Boolean));
      await until('a leader applied', async () => {
        const states = await Promise.all(agents.map(applyState));
        return states.some((s) => s?.election.leader && s.lastOutcome === 'ok');
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs()}`);
    }
    const leading = await leaders(agents);
    assert.deepEqual(
      leading.map((a) => a.podName),
      [leading[0]?.podName],
      'exactly one leader',
    );
    leader = leading[0] as Agent;
    follower = agents.find((a) => a !== leader) as Agent;
    assert.equal(await leaseHolder(kube.request, agentNs), leader.podName);
    assert.equal(await leaderMetric(leader), 1);
    assert.equal(await leaderMetric(follower), 0);
    const followerState = (await applyState(follower)) as ApplySection;
    assert.equal(followerState.enabled, true);
    assert.equal(
      followerState.election.holder,
      leader.podName,
      'the follower sees the leader hold the Lease',
    );
    assert.equal(followerState.lastSuccessAt, undefined, 'the follower never applied');

    await untilEqualsRender(leader, 'the objects equal casa-agent render');
    const objects = await rendered(leader);
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'CiliumClusterwideEnvoyConfig/casa-node-agent-egress',
      'CiliumClusterwideEnvoyConfig/casa-node-agent-l7lb',
      'CiliumClusterwideNetworkPolicy/casa-node-agent',
    ]);
    assert.match(await policyText(), /"matchName":"llm\.example\.com"/);
    for (const obj of objects) {
      const live = await getLive(kube.request, obj);
      assert.equal(live?.metadata.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
      const managers = (live?.metadata.managedFields ?? []).map((f) => `${f.manager}/${f.operation}`);
      assert.deepEqual(managers, [`${FIELD_MANAGER}/Apply`], `${obj.metadata.name}: ${managers.join(', ')}`);
    }
  });

  it('a MultiAgentSystem change (app added, llm_host changed) reaches the objects', async () => {
    await createService(appNs, 'flights', 9000);
    await ok(
      fixture.kube.apply(
        masBody(appNs, 'trip', 'llm2.example.com', [
          { name: 'planner', port: 8000 },
          { name: 'flights', port: 9000 },
        ]),
      ),
      'MAS update',
    );
    await until('the new llm_host is in the policy', async () =>
      /llm2\.example\.com/.test(await policyText()),
    );
    await untilEqualsRender(leader, 'the objects equal casa-agent render after the change');
    assert.doesNotMatch(await policyText(), /"llm\.example\.com"/, 'the old llm_host is gone');
    const l7lb = await getLive(fixture.kube.request, {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumClusterwideEnvoyConfig',
      metadata: { name: 'casa-node-agent-l7lb' },
    } as KubernetesObject);
    const spec = (l7lb?.spec ?? {}) as { services?: { namespace: string; name: string; ports: number[] }[] };
    const services = spec.services;
    assert.deepEqual((services ?? []).map((s) => `${s.namespace}/${s.name}:${s.ports.join(',')}`).sort(), [
      `${appNs}/flights:9000`,
      `${appNs}/planner:8000`,
    ]);
  });

  it('SIGTERM to the leader: it exits 0 and releases the Lease, the other agent leads and keeps the objects reconciled', async () => {
    const kube = fixture.kube;
    const watch = await watchHolders(agentNs);
    try {
      await (group as ProcessGroup).stop(leader.child, 15_000);
      const exit = await leader.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, logs());
      assert.match(logs(), new RegExp(`\\[${leader.podName}\\].*released the Lease`));
      await until(
        'the other agent leads',
        async () => (await applyState(follower))?.election.leader === true,
      );
      assert.equal(await leaseHolder(kube.request, agentNs), follower.podName);
      await until('the watch saw the new holder', () => watch.holders.includes(follower.podName));
      // Released (no holder) before taken: a handover, not a takeover after expiry.
      const released = watch.holders.indexOf('');
      assert.ok(
        released >= 0 && released < watch.holders.indexOf(follower.podName),
        `holders seen: ${JSON.stringify(watch.holders)}`,
      );
    } finally {
      watch.stop();
    }
    assert.equal(await leaderMetric(follower), 1);
    // The new leader writes its own render (its listen ports differ: see the top of the file).
    await untilEqualsRender(follower, 'the objects equal the new leader’s render');

    await ok(kube.request('DELETE', `${CCNP}/casa-node-agent`), 'delete the policy by hand');
    await until('the policy is back', async () => /llm2\.example\.com/.test(await policyText()));
    await untilEqualsRender(follower, 'the objects equal casa-agent render again');
    const live = await getLive(kube.request, {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumClusterwideNetworkPolicy',
      metadata: { name: 'casa-node-agent' },
    } as KubernetesObject);
    assert.deepEqual(
      (live?.metadata.managedFields ?? []).map((f) => `${f.manager}/${f.operation}`),
      [`${FIELD_MANAGER}/Apply`],
    );
  });

  it('the MultiAgentSystem deleted: its Services and llm_host leave the objects, owned objects no longer rendered are pruned', async () => {
    const kube = fixture.kube;
    const extra = (name: string, labels: Record<string, string>) =>
      createEnvoyConfig(kube.request, name, labels);
    // One carrying our ownership label that nothing renders, and one of somebody else.
    await extra('casa-node-agent-retired', { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
    await extra('someone-elses-config', { 'app.kubernetes.io/part-of': 'other' });
    await ok(
      kube.request('DELETE', `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems/trip`),
      'delete MAS',
    );
    await until('no llm_host rule is left', async () => !/llm2?\.example\.com/.test(await policyText()));
    await until(
      'the retired object is pruned',
      async () => (await kube.request('GET', `${CCEC}/casa-node-agent-retired`)).status === 404,
    );
    await untilEqualsRender(follower, 'the objects equal casa-agent render without the MAS');
    assert.equal((await kube.request('GET', `${CCEC}/someone-elses-config`)).status, 200, 'not ours: kept');
    await ok(kube.request('DELETE', `${CCEC}/someone-elses-config`), 'cleanup');

    // The last agent stops cleanly too.
    await (group as ProcessGroup).stop(follower.child, 15_000);
    assert.deepEqual(await follower.exited, { code: 0, signal: null }, logs());
    assert.equal(await leaseHolder(kube.request, agentNs), undefined, 'released on shutdown (no holder)');
  });
});
