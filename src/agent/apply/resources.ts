// What the applier may write, and how it marks what it owns. The resource
// table is static on purpose: the applier writes a fixed set of kinds, so it
// needs no discovery, and RBAC can grant exactly these.
import type { KubernetesObject } from '../render/kubernetes-object.js';

/** Field manager of every server-side apply (visible in each object's managedFields). */
export const FIELD_MANAGER = 'casa-node-agent';

/**
 * Added by the applier (not by the renderer: `casa-agent render` output is
 * also applied by hand or by the chart). Pruning selects on it, so an object
 * without it is never deleted by an agent.
 */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'casa-node-agent';

export interface ResourceType {
  readonly apiVersion: string;
  readonly kind: string;
  /** Lower-case plural of the REST path. */
  readonly plural: string;
  readonly namespaced: boolean;
}

export const CILIUM_RESOURCES: readonly ResourceType[] = [
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideEnvoyConfig',
    plural: 'ciliumclusterwideenvoyconfigs',
    namespaced: false,
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    plural: 'ciliumclusterwidenetworkpolicies',
    namespaced: false,
  },
];

/** `/apis/<group>/<version>` (or `/api/v1` for the core group). */
function groupPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The collection path, cluster-wide or in one namespace. */
export function collectionPath(t: ResourceType, namespace?: string): string {
  if (t.namespaced && namespace) return `${groupPath(t.apiVersion)}/namespaces/${namespace}/${t.plural}`;
  return `${groupPath(t.apiVersion)}/${t.plural}`;
}

export function objectPath(t: ResourceType, name: string, namespace?: string): string {
  return `${collectionPath(t, namespace)}/${encodeURIComponent(name)}`;
}

/** `kind` (cluster-scoped) or `kind namespace/name` key for comparing rendered and live sets. */
export function objectKey(o: { kind: string; name: string; namespace?: string }): string {
  return o.namespace ? `${o.kind} ${o.namespace}/${o.name}` : `${o.kind} ${o.name}`;
}

export function resourceOf(types: readonly ResourceType[], obj: KubernetesObject): ResourceType {
  const t = types.find((r) => r.apiVersion === obj.apiVersion && r.kind === obj.kind);
  if (!t) throw new Error(`the applier does not write ${obj.apiVersion} ${obj.kind}`);
  if (t.namespaced !== (obj.metadata.namespace !== undefined)) {
    throw new Error(
      `${obj.kind} ${obj.metadata.name}: ${t.namespaced ? 'needs' : 'must not have'} a namespace`,
    );
  }
  return t;
}

/** The rendered object with the ownership label (a copy; the renderer's object is not touched). */
export function withOwnership(obj: KubernetesObject): KubernetesObject {
  return {
    ...obj,
    metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
  };
}
