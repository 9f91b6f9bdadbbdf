// Which MAS app a pod is (ARCHITECTURE.md §2 "Workload"): only pods in a
// managed namespace, and only apps of a MAS in the pod's own namespace (a pod
// must never take the identity of another tenant's app). The pod label
// `casa.io/app=<app name>` decides when present — a label that names no app is
// a warning, not a fallback, because it states the operator's intent; without
// it the pod's controlling workload name must equal `kubernetesWorkloadName`.
// The label `casa.io/app-type` overrides the app's type for that pod.
import type { AppType } from '../../policy/types.js';
import type { AppCatalog, AppEntry } from './catalog.js';
import { APP_LABEL, appTypeLabel, type PodRecord, type ReplicaSetRecord } from './objects.js';

export interface Membership {
  readonly entry?: AppEntry;
  readonly type?: AppType;
  readonly warning?: string;
}

/**
 * The name of the workload that controls a pod: the Deployment behind its
 * ReplicaSet (the ReplicaSet's own controller when the ReplicaSet is known,
 * else the ReplicaSet name without its `-<pod-template-hash>` suffix), or the
 * StatefulSet, DaemonSet, Job — any controller — by name; a bare pod is its own
 * workload (as Istio's WORKLOAD_NAME is).
 */
export function controllingWorkloadName(
  pod: PodRecord,
  replicaSets: ReadonlyMap<string, ReplicaSetRecord>,
): string {
  const owner = pod.controller;
  if (!owner) return pod.name;
  if (owner.kind !== 'ReplicaSet') return owner.name;
  const rs = replicaSets.get(`${pod.namespace}/${owner.name}`);
  const sameRs =
    rs !== undefined && (rs.uid === undefined || owner.uid === undefined || rs.uid === owner.uid);
  if (sameRs) return rs.controller?.name ?? rs.name;
  // Deployment-made ReplicaSets are named `<deployment>-<pod-template-hash>` and
  // their pods carry that hash as a label, so the suffix is known, not guessed.
  const hash = pod.labels['pod-template-hash'];
  if (hash && owner.name.endsWith(`-${hash}`) && owner.name.length > hash.length + 1) {
    return owner.name.slice(0, -(hash.length + 1));
  }
  return owner.name;
}

export function membership(pod: PodRecord, catalog: AppCatalog): Membership {
  if (!catalog.managedNamespaces.has(pod.namespace)) return {};
  const label = pod.labels[APP_LABEL]?.trim();
  let entry: AppEntry | undefined;
  if (label) {
    entry = catalog.byLabel.get(`${pod.namespace}/${label}`)?.[0];
    if (!entry) {
      return {
        warning: `Pod ${pod.key}: label ${APP_LABEL}=${label} names no app of a MultiAgentSystem in namespace ${pod.namespace}`,
      };
    }
  } else {
    const workload = controllingWorkloadName(pod, catalog.replicaSets);
    entry = catalog.appByWorkloadName(pod.namespace, workload);
    if (!entry) return {};
  }
  const override = appTypeLabel(pod);
  if (override === 'invalid') {
    return {
      entry,
      type: entry.identity.type,
      warning: `Pod ${pod.key}: label casa.io/app-type=${JSON.stringify(pod.labels['casa.io/app-type'])} is not agent, mcp_server or client; using ${entry.identity.type}`,
    };
  }
  return { entry, type: override ?? entry.identity.type };
}
