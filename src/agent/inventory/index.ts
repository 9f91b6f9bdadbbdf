// The inventory component as the composition root uses it: one registry fed
// by one source (Kubernetes or a folder), and the diagnostics view of both.
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AgentState } from '../diag/state.js';
import { FileSource, type FileSourceStatus } from './file-source.js';
import { KubeConfigApi } from './kube-api.js';
import { KubeSource, type KubeSourceStatus } from './kube-source.js';
import type { RestartCause } from './reflector.js';
import { WorkloadRegistry } from './registry.js';

export type { WorkloadDirectory } from './directory.js';
export type { InventoryEvent, InventorySink } from './events.js';
export { FileSource, type FileSourceOptions, type FileSourceStatus } from './file-source.js';
export { type KubeApi, KubeConfigApi } from './kube-api.js';
export { KubeSource, type KubeSourceOptions, type KubeSourceStatus } from './kube-source.js';
export {
  type InventoryProblem,
  type RegistryStats,
  WorkloadRegistry,
  type WorkloadRegistryOptions,
} from './registry.js';

export interface InventoryOptions {
  readonly source: 'kubernetes' | 'file';
  /** Folder for `file`. */
  readonly manifests?: string;
  /** kubeconfig for `kubernetes` (default: in-cluster, then $KUBECONFIG / ~/.kube/config). */
  readonly kubeconfig?: string;
  readonly nodeName?: string;
  readonly clusterDomain?: string;
  /** See KubeSourceOptions.secretLabelSelector. */
  readonly secretLabelSelector?: string;
  readonly onWatchRestart?: (kind: string, cause: RestartCause) => void;
  readonly log?: Logger;
}

export interface InventorySource {
  readonly synced: boolean;
  /** Resolves when the first complete state is in the registry. */
  start(): Promise<void>;
  /** Stops following changes; the registry keeps the last state. */
  stop(): Promise<void>;
  status(): KubeSourceStatus | FileSourceStatus;
}

export interface Inventory {
  readonly kind: 'kubernetes' | 'file';
  readonly registry: WorkloadRegistry;
  readonly source: InventorySource;
}

/** In-cluster when running in a pod, else the kubeconfig file (explicit, $KUBECONFIG, ~/.kube/config). */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (
    process.env.KUBERNETES_SERVICE_HOST &&
    existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')
  ) {
    kc.loadFromCluster();
  } else kc.loadFromDefault();
  return kc;
}

export function createInventory(o: InventoryOptions): Inventory {
  const registry = new WorkloadRegistry({
    ...(o.nodeName ? { nodeName: o.nodeName } : {}),
    ...(o.clusterDomain ? { clusterDomain: o.clusterDomain } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  if (o.source === 'file') {
    if (!o.manifests) throw new Error('--inventory file needs --manifests <folder>');
    const source = new FileSource({ dir: o.manifests, sink: registry, ...(o.log ? { log: o.log } : {}) });
    return { kind: 'file', registry, source };
  }
  const source = new KubeSource({
    api: new KubeConfigApi(loadKubeConfig(o.kubeconfig)),
    sink: registry,
    ...(o.nodeName ? { nodeName: o.nodeName } : {}),
    ...(o.secretLabelSelector ? { secretLabelSelector: o.secretLabelSelector } : {}),
    ...(o.onWatchRestart ? { onWatchRestart: o.onWatchRestart } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  return { kind: 'kubernetes', registry, source };
}

/** The `inventory` section of /debug/state: identities and counts, never a credential. */
export function inventoryState(inv: Inventory): AgentState['inventory'] {
  const reg = inv.registry;
  const stats = reg.stats();
  return {
    source: inv.kind,
    synced: inv.source.synced,
    objects: stats.objects,
    localWorkloads: reg.localWorkloads().map((w) => ({
      namespace: w.namespace,
      pod: w.podName,
      ips: w.ips,
      mas: `${w.mas.namespace}/${w.mas.name}`,
      app: w.app.name,
      type: w.type,
      credentials: reg.credentials(w) !== undefined,
    })),
    clusterWorkloads: stats.clusterWorkloads,
    multiAgentSystems: reg.multiAgentSystems().map((m) => ({
      namespace: m.ref.namespace,
      name: m.ref.name,
      apps: m.apps.length,
    })),
    warnings: reg.warnings(),
  };
}
