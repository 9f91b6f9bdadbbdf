// API paths of objects, for raw calls (server-side apply, strict create):
// `/api/v1/namespaces/<ns>/services/<name>`, `/apis/cilium.io/v2/ciliumclusterwideenvoyconfigs/<name>`.
// Plurals come from a small table of built-in kinds and from the installed
// CRDs; an unknown kind is an error rather than a guessed plural.

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name?: string; readonly namespace?: string };
}

/** Built-in kinds the suites touch, by `group/kind` (core group: empty). */
const BUILTIN: Readonly<Record<string, string>> = {
  '/Namespace': 'namespaces',
  '/Service': 'services',
  '/Pod': 'pods',
  '/ConfigMap': 'configmaps',
  '/Secret': 'secrets',
  '/ServiceAccount': 'serviceaccounts',
  'apps/DaemonSet': 'daemonsets',
  'coordination.k8s.io/Lease': 'leases',
  'rbac.authorization.k8s.io/Role': 'roles',
  'rbac.authorization.k8s.io/RoleBinding': 'rolebindings',
  'rbac.authorization.k8s.io/ClusterRole': 'clusterroles',
  'rbac.authorization.k8s.io/ClusterRoleBinding': 'clusterrolebindings',
};

/** `crdPlurals`: `group/kind` → plural of the installed CRDs. */
export function resourcePathFor(crdPlurals: ReadonlyMap<string, string>): (obj: ObjectRef) => string {
  return (obj) => {
    const slash = obj.apiVersion.indexOf('/');
    const group = slash < 0 ? '' : obj.apiVersion.slice(0, slash);
    const key = `${group}/${obj.kind}`;
    const plural = BUILTIN[key] ?? crdPlurals.get(key);
    if (!plural) throw new Error(`resourcePath: no plural known for ${obj.apiVersion} ${obj.kind}`);
    const base = group === '' ? `/api/${obj.apiVersion}` : `/apis/${obj.apiVersion}`;
    const ns = obj.metadata.namespace ? `/namespaces/${encodeURIComponent(obj.metadata.namespace)}` : '';
    const name = obj.metadata.name ? `/${encodeURIComponent(obj.metadata.name)}` : '';
    return `${base}${ns}/${plural}${name}`;
  };
}
