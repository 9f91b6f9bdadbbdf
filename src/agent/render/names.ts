// Names of everything the Cilium renderer emits, and the rule Cilium applies to
// them before Envoy sees them. The agent serves RDS and ECDS resources by the
// names *Envoy* asks for, so both sides must compute them from this file.
//
// Cilium's rule (cilium/cilium pkg/policy/api/utils.go `ResourceQualifiedName`,
// applied in pkg/ciliumenvoyconfig/cec_resource_parser.go `ParseResources`):
//   - an empty name stays empty;
//   - a name is prefixed with `<namespace>/<config-name>/` unless it already
//     contains a `/` — with ForceNamespace (listeners, RouteConfigurations,
//     virtual hosts, and `Rds.route_config_name`) a name that contains `/` is
//     still prefixed unless its first `/` sits right after `<namespace>`;
//   - the namespace of a CiliumClusterwideEnvoyConfig is empty, so a listener
//     `egress` in config `casa-node-agent-egress` reaches Envoy as
//     `/casa-node-agent-egress/egress`;
//   - cluster names (not forced) that already contain `/` are left alone;
//   - nothing inside an HTTP filter's typed_config is rewritten (ext_authz
//     `grpc_service`, `config_discovery.config_source`), and neither are the
//     resources the agent serves itself over RDS/ECDS: write those fully
//     qualified.
// Cilium's EDS for `spec.services` / `spec.backendServices` publishes
// ClusterLoadAssignments named `<svc-namespace>/<svc-name>:<port>` for each
// listed frontend port, or `<ns>/<name>:*` and `<ns>/<name>` when no port is
// listed (pkg/ciliumenvoyconfig/envoy_l7lb_backend_syncer.go).

/** Cilium's `ResourceQualifiedName(namespace, cecName, name, force)`. */
export function qualifiedName(namespace: string, configName: string, name: string, force: boolean): string {
  const slash = name.indexOf('/');
  if (name === '') return name;
  if (slash >= 0 && (!force || (slash === namespace.length && name.startsWith(namespace)))) return name;
  return `${namespace}/${configName}/${name}`;
}

/** Name of a resource in a CiliumClusterwideEnvoyConfig as Envoy sees it. */
export function clusterwideName(configName: string, name: string, force = true): string {
  return qualifiedName('', configName, name, force);
}

/**
 * The two cluster-wide envoy configs. They are split because Cilium derives
 * per-config behaviour from `spec.services`: with services set, every listener
 * of the config is marked L7 LB and every cluster gets Cilium's upstream
 * filters; and `use-original-source-address` must be false for the egress
 * listener only (see cilium.ts).
 */
export const EGRESS_CONFIG = 'casa-node-agent-egress';
export const L7LB_CONFIG = 'casa-node-agent-l7lb';
export const NETWORK_POLICY = 'casa-node-agent';

/** Every object the Cilium renderer emits (what an applier owns, and deletes on uninstall). */
export const CILIUM_OBJECTS: readonly { readonly kind: string; readonly name: string }[] = [
  { kind: 'CiliumClusterwideEnvoyConfig', name: EGRESS_CONFIG },
  { kind: 'CiliumClusterwideEnvoyConfig', name: L7LB_CONFIG },
  { kind: 'CiliumClusterwideNetworkPolicy', name: NETWORK_POLICY },
];

/** Listener names as written in the configs and referenced by the policy. */
export const EGRESS_LISTENER = 'egress';
export const L7LB_LISTENER = 'l7lb';

/** RouteConfiguration names as written in the HCM `rds` block. */
export const EGRESS_ROUTES = 'egress-routes';
export const L7LB_ROUTES = 'l7lb-routes';

/** Cluster of the egress listener: Envoy forwards to the pod's original destination. */
export const ORIGINAL_DST_CLUSTER = 'original-dst';

/**
 * ECDS resource names of the protocol-gate RBAC filters. Envoy asks for the
 * HttpFilter's `name`, which Cilium does not rewrite, so these are global names.
 */
export const EGRESS_GATE_FILTER = 'casa.protocol_gate.egress';
export const L7LB_GATE_FILTER = 'casa.protocol_gate.l7lb';

/** Well-known Envoy filter names (extension names, not rewritten by Cilium). */
export const EXT_AUTHZ_FILTER = 'envoy.filters.http.ext_authz';
export const ROUTER_FILTER = 'envoy.filters.http.router';
export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';

/** What Envoy asks the agent for over RDS and ECDS, fully qualified. */
export const SERVED_NAMES = {
  egressRoutes: clusterwideName(EGRESS_CONFIG, EGRESS_ROUTES),
  l7lbRoutes: clusterwideName(L7LB_CONFIG, L7LB_ROUTES),
  egressGate: EGRESS_GATE_FILTER,
  l7lbGate: L7LB_GATE_FILTER,
  egressListener: clusterwideName(EGRESS_CONFIG, EGRESS_LISTENER),
  l7lbListener: clusterwideName(L7LB_CONFIG, L7LB_LISTENER),
  originalDstCluster: clusterwideName(EGRESS_CONFIG, ORIGINAL_DST_CLUSTER, false),
} as const;

/** Cilium's EDS cluster name for a Service (port undefined = every frontend port). */
export function serviceClusterName(namespace: string, name: string, port?: number): string {
  return port === undefined ? `${namespace}/${name}` : `${namespace}/${name}:${port}`;
}
