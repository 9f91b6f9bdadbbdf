// Agents for the in-cluster apply suites: each is a real inventory (KubeSource
// → WorkloadRegistry) and a real ClusterApply against the test apiserver, with
// short Lease timings so takeovers happen in seconds.
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { ClusterApply, type ClusterApplyOptions, withOwnership } from '../../../src/agent/apply/index.js';
import { loadConfig } from '../../../src/agent/config/load.js';
import { KubeConfigApi } from '../../../src/agent/inventory/kube-api.js';
import { KubeSource } from '../../../src/agent/inventory/kube-source.js';
import { WorkloadRegistry } from '../../../src/agent/inventory/registry.js';
import { renderCilium } from '../../../src/agent/render/cilium.js';
import type { KubernetesObject } from '../../../src/agent/render/kubernetes-object.js';
import type { KubeRequest, TestKube } from '../../harness/kube.js';

export const MANAGED = { 'casa.io/injection': 'enabled' };
export const CCEC = '/apis/cilium.io/v2/ciliumclusterwideenvoyconfigs';
export const CCNP = '/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies';

export interface TestAgent {
  readonly identity: string;
  readonly registry: WorkloadRegistry;
  readonly source: KubeSource;
  readonly apply: ClusterApply;
  readonly metrics: Registry;
  /** What the renderer makes of this agent's registry now, as the applier sends it. */
  expected(): KubernetesObject[];
  /** `release: false` stops like a crash: the Lease is left to expire. */
  stop(o?: { release?: boolean }): Promise<void>;
}

export interface AgentOptions {
  readonly kubeConfig?: KubeConfig;
  readonly overrides?: Partial<Pick<ClusterApplyOptions, 'render' | 'applier'>>;
}

const started: TestAgent[] = [];

/** Stops every agent still running (after hook). */
export async function stopAll(): Promise<void> {
  for (const a of started.splice(0)) await a.stop().catch(() => {});
}

export function applyConfig(agentNamespace: string, identity: string) {
  return loadConfig({
    flags: {
      agentNamespace,
      podName: identity,
      applyClusterObjects: 'true',
      applyLeaseDuration: '3s',
      applyRenewDeadline: '2s',
      applyRetryPeriod: '200ms',
      applyResync: '60s',
    },
    env: {},
  });
}

export async function startAgent(
  kube: TestKube,
  agentNamespace: string,
  identity: string,
  o: AgentOptions = {},
): Promise<TestAgent> {
  const kc = o.kubeConfig ?? kube.kubeConfig;
  const registry = new WorkloadRegistry({ nodeName: identity, coalesceMs: 5 });
  const source = new KubeSource({
    api: new KubeConfigApi(kc),
    sink: registry,
    nodeName: identity,
    backoff: { initialMs: 100, maxMs: 1000 },
  });
  const config = applyConfig(agentNamespace, identity);
  const metrics = new Registry();
  const apply = new ClusterApply({
    config,
    registry,
    synced: () => source.synced,
    kubeConfig: kc,
    metrics,
    ...o.overrides,
    applier: { coalesceMs: 50, backoff: { initialMs: 100, maxMs: 800 }, ...o.overrides?.applier },
  });
  let stopped = false;
  const agent: TestAgent = {
    identity,
    registry,
    source,
    apply,
    metrics,
    expected: () =>
      renderCilium({
        config,
        multiAgentSystems: registry.multiAgentSystems(),
        services: registry.services(),
      }).map(withOwnership),
    async stop(s = {}) {
      if (stopped) return;
      stopped = true;
      await apply.stop(s);
      await source.stop();
      registry.close();
    },
  };
  started.push(agent);
  await source.start();
  apply.start();
  return agent;
}

export async function ok(res: Promise<{ status: number; body: unknown }>, what: string): Promise<unknown> {
  const r = await res;
  assert.ok(
    r.status >= 200 && r.status < 300,
    `${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`,
  );
  return r.body;
}

/** Polls until `check` returns true; the last failure message is in the timeout error. */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface LiveObject {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: { manager: string; operation: string }[];
  };
  spec: unknown;
}

function pathOf(obj: KubernetesObject): string {
  return `${obj.kind === 'CiliumClusterwideNetworkPolicy' ? CCNP : CCEC}/${obj.metadata.name}`;
}

export async function getLive(request: KubeRequest, obj: KubernetesObject): Promise<LiveObject | undefined> {
  const r = await request('GET', pathOf(obj));
  if (r.status === 404) return undefined;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as LiveObject;
}

/** Differences between the live objects and the rendered ones (empty: equal). */
export async function differences(request: KubeRequest, expected: readonly KubernetesObject[]) {
  const out: string[] = [];
  for (const want of expected) {
    const live = await getLive(request, want);
    const id = `${want.kind}/${want.metadata.name}`;
    if (!live) {
      out.push(`${id}: missing`);
      continue;
    }
    try {
      assert.deepEqual(live.spec, want.spec);
      for (const [k, v] of Object.entries(want.metadata.labels ?? {}))
        assert.equal(live.metadata.labels?.[k], v);
      for (const [k, v] of Object.entries(want.metadata.annotations ?? {}))
        assert.equal(live.metadata.annotations?.[k], v);
    } catch (err) {
      out.push(`${id}: ${(err as Error).message.slice(0, 600)}`);
    }
  }
  return out;
}

export async function equalsRendered(request: KubeRequest, agent: TestAgent): Promise<boolean> {
  return (await differences(request, agent.expected())).length === 0;
}

export async function leaseHolder(request: KubeRequest, ns: string): Promise<string | undefined> {
  const r = await request(
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/casa-node-agent-cluster-objects`,
  );
  if (r.status === 404) return undefined;
  return (r.body as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
}

export async function metricValue(metrics: Registry, name: string, labels: Record<string, string> = {}) {
  const m = await metrics.getSingleMetric(name)?.get();
  return (m?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((sum, v) => sum + v.value, 0);
}

/** A KubeConfig authenticating with a bearer token (a service account's). */
export function tokenKubeConfig(kube: TestKube, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: kube.url, caFile: kube.caFile, skipTLSVerify: false }],
    users: [{ name: 'agent', token }],
    contexts: [{ name: 'agent', cluster: 'test', user: 'agent' }],
    currentContext: 'agent',
  });
  return kc;
}

export function masBody(
  ns: string,
  name: string,
  llmHost: string,
  apps: readonly { name: string; port: number }[],
) {
  return {
    apiVersion: 'casa.io/v1alpha1',
    kind: 'MultiAgentSystem',
    metadata: { name, namespace: ns },
    spec: {
      name,
      llm_host: llmHost,
      apps: apps.map((a) => ({
        name: a.name,
        type: 'agent',
        kubernetesWorkloadName: a.name,
        baseUrl: { host: `${a.name}.${ns}:${a.port}`, scheme: 'http' },
      })),
    },
  };
}

/** An empty CiliumClusterwideEnvoyConfig with these labels (a leftover, or somebody else's). */
export function createEnvoyConfig(request: KubeRequest, name: string, labels: Record<string, string>) {
  return ok(
    request('POST', CCEC, {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumClusterwideEnvoyConfig',
      metadata: { name, labels },
      spec: { resources: [] },
    }),
    name,
  );
}
