// In-cluster apply against a real kube-apiserver with the real Cilium and CASA
// CRDs: agents elect one writer through a real Lease; the writer's objects are
// the renderer's output for its inventory, recorded under field manager
// casa-node-agent; MultiAgentSystem changes reach the objects; what is no
// longer rendered goes; the other agent takes over when the writer stops or
// dies; and a rejected apply is counted and retried without crashing anything.
// The suites share the cluster-wide objects, so they run in order.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../../src/agent/apply/index.js';
import type { KubernetesObject } from '../../../src/agent/render/kubernetes-object.js';
import { useKube } from '../../harness/kube.js';
import {
  CCEC,
  CCNP,
  createEnvoyConfig,
  differences,
  equalsRendered,
  getLive,
  leaseHolder,
  MANAGED,
  masBody,
  metricValue,
  ok,
  startAgent,
  stopAll,
  type TestAgent,
  until,
} from './support.js';

const fixture = useKube();
after(stopAll);

const L7LB = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumClusterwideEnvoyConfig',
  metadata: { name: 'casa-node-agent-l7lb' },
};
const POLICY = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumClusterwideNetworkPolicy',
  metadata: { name: 'casa-node-agent' },
};

function leaderOf(agents: readonly TestAgent[]): TestAgent[] {
  return agents.filter((a) => a.apply.election.isLeader);
}

async function createService(ns: string, name: string, port: number): Promise<void> {
  await ok(
    fixture.kube.request('POST', `/api/v1/namespaces/${ns}/services`, {
      metadata: { name },
      spec: { ports: [{ port, protocol: 'TCP' }], selector: { app: name } },
    }),
    `service ${name}`,
  );
}

/** The `spec.services` of the live L7 LB config, as `ns/name:ports`. */
async function l7lbServices(): Promise<string[]> {
  const live = await getLive(fixture.kube.request, L7LB as KubernetesObject);
  const spec = (live?.spec ?? {}) as { services?: { namespace: string; name: string; ports: number[] }[] };
  const services = spec.services;
  return (services ?? []).map((s) => `${s.namespace}/${s.name}:${s.ports.join(',')}`);
}

async function policyText(): Promise<string> {
  return JSON.stringify((await getLive(fixture.kube.request, POLICY as KubernetesObject))?.spec);
}

describe('in-cluster apply: one writer, the renderer’s objects', {
  skip: fixture.skip,
  concurrency: false,
}, () => {
  let agentNs: string;
  let appNs: string;
  let a: TestAgent;
  let b: TestAgent;

  it('two agents race for the Lease: exactly one applies, the objects equal the renderer’s output under field manager casa-node-agent', async () => {
    const kube = fixture.kube;
    agentNs = await kube.newNamespace({ prefix: 'casa' });
    appNs = await kube.newNamespace({ prefix: 'travel', labels: MANAGED });
    await createService(appNs, 'planner', 8000);
    await ok(
      kube.request(
        'POST',
        `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems`,
        masBody(appNs, 'trip', 'llm.example.com', [{ name: 'planner', port: 8000 }]),
      ),
      'MAS',
    );
    [a, b] = await Promise.all([startAgent(kube, agentNs, 'agent-a'), startAgent(kube, agentNs, 'agent-b')]);
    await until('a leader applied', () => [a, b].some((x) => x.apply.state().lastSuccessAt !== undefined));
    const leaders = leaderOf([a, b]);
    assert.equal(leaders.length, 1, 'exactly one leader');
    const leader = leaders[0] as TestAgent;
    const follower = leader === a ? b : a;
    assert.equal(await leaseHolder(kube.request, agentNs), leader.identity);

    await until('the objects equal the rendered ones', () => equalsRendered(kube.request, leader));
    assert.deepEqual(await differences(kube.request, follower.expected()), [], 'both agents render the same');
    assert.deepEqual(await l7lbServices(), [`${appNs}/planner:8000`]);
    assert.match(await policyText(), /"matchName":"llm\.example\.com"/);
    for (const obj of leader.expected()) {
      const live = await getLive(kube.request, obj);
      assert.equal(live?.metadata.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
      const managers = (live?.metadata.managedFields ?? []).map((f) => `${f.manager}/${f.operation}`);
      assert.deepEqual(managers, [`${FIELD_MANAGER}/Apply`], `${obj.metadata.name}: ${managers.join(', ')}`);
    }
    // The follower never wrote anything.
    assert.equal(follower.apply.state().lastAttemptAt, undefined);
    assert.equal(follower.apply.state().reconciles.ok + follower.apply.state().reconciles.error, 0);
    assert.equal(await metricValue(follower.metrics, 'casa_apply_leader'), 0);
    assert.equal(await metricValue(leader.metrics, 'casa_apply_leader'), 1);
    assert.ok((await metricValue(leader.metrics, 'casa_apply_reconciles_total', { outcome: 'ok' })) >= 1);
    const state = leader.apply.state();
    assert.equal(state.election.leader, true);
    assert.equal(state.election.holder, leader.identity);
    assert.deepEqual([...state.objects].sort(), [
      'CiliumClusterwideEnvoyConfig casa-node-agent-egress',
      'CiliumClusterwideEnvoyConfig casa-node-agent-l7lb',
      'CiliumClusterwideNetworkPolicy casa-node-agent',
    ]);
  });

  it('a MultiAgentSystem app added and its llm_host changed: the objects follow', async () => {
    const kube = fixture.kube;
    const leader = leaderOf([a, b])[0] as TestAgent;
    await createService(appNs, 'flights', 9000);
    await ok(
      kube.request('PUT', `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems/trip`, {
        ...masBody(appNs, 'trip', 'llm2.example.com', [
          { name: 'planner', port: 8000 },
          { name: 'flights', port: 9000 },
        ]),
        metadata: {
          name: 'trip',
          namespace: appNs,
          resourceVersion: (
            (await kube.request('GET', `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems/trip`))
              .body as { metadata: { resourceVersion: string } }
          ).metadata.resourceVersion,
        },
      }),
      'update MAS',
    );
    await until('the new app is redirected', async () =>
      (await l7lbServices()).includes(`${appNs}/flights:9000`),
    );
    await until('the new llm_host is allowed', async () => /llm2\.example\.com/.test(await policyText()));
    assert.doesNotMatch(await policyText(), /"llm\.example\.com"/, 'the old llm_host is gone');
    await until('the objects equal the rendered ones', () => equalsRendered(kube.request, leader));
  });

  it('a MultiAgentSystem removed: its Services and llm_host leave the objects; owned objects no longer rendered are pruned, others kept', async () => {
    const kube = fixture.kube;
    const leader = leaderOf([a, b])[0] as TestAgent;
    const leftover = (name: string, labels: Record<string, string>) =>
      createEnvoyConfig(kube.request, name, labels);
    // What an older agent version rendered and this one does not any more, and an object of somebody else.
    await leftover('casa-node-agent-retired', { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
    await leftover('someone-elses-config', { 'app.kubernetes.io/part-of': 'casa-node-agent' });
    await ok(
      kube.request('DELETE', `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems/trip`),
      'delete MAS',
    );
    await until('the MAS is gone from the registry', () => leader.registry.multiAgentSystems().length === 0);
    await until('no Service of the MAS is redirected', async () => (await l7lbServices()).length === 0);
    await until('no llm_host rule is left', async () => !/llm2?\.example\.com/.test(await policyText()));
    await until('the retired object is pruned', async () => {
      return (await kube.request('GET', `${CCEC}/casa-node-agent-retired`)).status === 404;
    });
    assert.equal((await kube.request('GET', `${CCEC}/someone-elses-config`)).status, 200, 'not ours: kept');
    await until('the objects equal the rendered ones', () => equalsRendered(kube.request, leader));
    assert.ok(leader.apply.state().pruned.includes('CiliumClusterwideEnvoyConfig casa-node-agent-retired'));
    assert.equal(await metricValue(leader.metrics, 'casa_apply_pruned_total'), 1);
    await ok(kube.request('DELETE', `${CCEC}/someone-elses-config`), 'cleanup');
  });

  it('objects deleted or edited by hand come back at the next reconcile', async () => {
    const kube = fixture.kube;
    const leader = leaderOf([a, b])[0] as TestAgent;
    await ok(kube.request('DELETE', `${CCNP}/casa-node-agent`), 'delete policy');
    // A registry change is the quickest trigger; the periodic resync (applyResync) does the same without one.
    await ok(
      kube.request(
        'POST',
        `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems`,
        masBody(appNs, 'again', 'llm3.example.com', [{ name: 'planner', port: 8000 }]),
      ),
      'MAS',
    );
    await until('the policy is back', async () => /llm3\.example\.com/.test(await policyText()));
    await until('the objects equal the rendered ones', () => equalsRendered(kube.request, leader));
  });

  it('the leader stops (releasing the Lease): the other agent takes over and applies', async () => {
    const kube = fixture.kube;
    const leader = leaderOf([a, b])[0] as TestAgent;
    const other = leader === a ? b : a;
    await leader.stop();
    await until('the other agent leads', () => other.apply.election.isLeader);
    assert.equal(await leaseHolder(kube.request, agentNs), other.identity);
    await ok(
      kube.request(
        'POST',
        `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems`,
        masBody(appNs, 'more', 'llm4.example.com', []),
      ),
      'MAS',
    );
    await until('the new leader applies changes', async () => /llm4\.example\.com/.test(await policyText()));
    await until('the objects equal the rendered ones', () => equalsRendered(kube.request, other));
  });

  it('the leader dies without releasing: a new agent takes over once the Lease expires', async () => {
    const kube = fixture.kube;
    const dying = leaderOf([a, b])[0] as TestAgent;
    const c = await startAgent(kube, agentNs, 'agent-c');
    await dying.stop({ release: false });
    assert.equal(
      await leaseHolder(kube.request, agentNs),
      dying.identity,
      'the Lease still names the dead agent',
    );
    await until('agent-c leads after the Lease expired', () => c.apply.election.isLeader);
    assert.equal(await leaseHolder(kube.request, agentNs), 'agent-c');
    const lease = (
      await kube.request(
        'GET',
        `/apis/coordination.k8s.io/v1/namespaces/${agentNs}/leases/casa-node-agent-cluster-objects`,
      )
    ).body as { spec: { leaseTransitions: number } };
    assert.ok(lease.spec.leaseTransitions >= 2, `transitions ${lease.spec.leaseTransitions}`);
    await until('the objects equal the rendered ones', () => equalsRendered(kube.request, c));
    await c.stop();
  });
});

describe('in-cluster apply: a rejected apply is counted and retried with backoff', {
  skip: fixture.skip,
}, () => {
  it('an object the CRD refuses: errors counted, retries spaced out, the process unharmed, then recovery', async () => {
    const kube = fixture.kube;
    const agentNs = await kube.newNamespace({ prefix: 'casa' });
    let broken = true;
    let renders = 0;
    let agent: TestAgent | undefined;
    agent = await startAgent(kube, agentNs, 'agent-x', {
      overrides: {
        render: () => {
          renders += 1;
          // Never render "nothing" by accident: that would prune every object.
          if (!agent) throw new Error('agent not started yet');
          const objects = agent.expected();
          if (!broken) return objects;
          // The L7 LB config without its required `resources`: the CRD's schema refuses it.
          return objects.map((o) =>
            o.metadata.name === 'casa-node-agent-l7lb' ? { ...o, spec: { services: [] } } : o,
          );
        },
        applier: { backoff: { initialMs: 200, maxMs: 800 } },
      },
    });
    await until('three failed reconciles', () => agent.apply.state().consecutiveFailures >= 3);
    const state = agent.apply.state();
    assert.equal(state.lastOutcome, 'error');
    assert.match(state.lastError ?? '', /casa-node-agent-l7lb.*HTTP 422/);
    assert.ok(state.nextAttemptAt, 'a retry is scheduled');
    assert.ok((await metricValue(agent.metrics, 'casa_apply_errors_total', { op: 'apply' })) >= 3);
    assert.ok((await metricValue(agent.metrics, 'casa_apply_reconciles_total', { outcome: 'error' })) >= 3);
    // Backoff: retries are spaced (≥ 100 ms, the jittered first delay), not a hot loop.
    const attempts = renders;
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(renders - attempts <= 2, `${renders - attempts} attempts in 300 ms`);
    // The other objects were still applied: one bad object does not block the rest.
    assert.ok(await getLive(kube.request, POLICY as KubernetesObject));
    broken = false;
    await until('recovered', () => agent.apply.state().lastOutcome === 'ok');
    assert.equal(agent.apply.state().consecutiveFailures, 0);
    assert.equal(agent.apply.state().lastError, undefined);
    await until('the objects equal the rendered ones', () => equalsRendered(kube.request, agent));
    await agent.stop();
  });

  it('the apiserver goes away and comes back: Lease and apply errors are counted, the writer recovers', async () => {
    const kube = fixture.kube;
    const agentNs = await kube.newNamespace({ prefix: 'casa' });
    const agent = await startAgent(kube, agentNs, 'agent-y');
    await until('leading and applied', () => agent.apply.state().lastOutcome === 'ok');
    await kube.apiserver.stop();
    try {
      await until(
        'a Lease error is counted',
        async () => (await metricValue(agent.metrics, 'casa_apply_errors_total')) > 0,
      );
      await until('the writer stepped down (renew deadline)', () => !agent.apply.election.isLeader);
    } finally {
      await kube.apiserver.start();
    }
    await until('leading again', () => agent.apply.election.isLeader, 60_000);
    await until('applied again', () => agent.apply.state().lastOutcome === 'ok');
    await agent.stop();
  });
});
