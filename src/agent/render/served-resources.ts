// Everything the agent itself serves to its node's Envoy, in one call for the
// xDS snapshot builder: the two RouteConfigurations (RDS) and the two
// protocol-gate RBAC configs (ECDS), named exactly as the listeners of the
// rendered envoy configs ask for them (names.ts).
//
// Transport note for the xDS server: the listeners name the agent in
// `api_config_source` with `api_type: GRPC` (or DELTA_GRPC), not ADS, so Envoy
// opens per-type streams: envoy.service.route.v3.RouteDiscoveryService
// (StreamRoutes / DeltaRoutes) and
// envoy.service.extension.v3.ExtensionConfigDiscoveryService
// (StreamExtensionConfigs / DeltaExtensionConfigs) on the xDS port.
import type { MultiAgentSystem, Workload } from '../../policy/types.js';
import { appServicePorts, type ServiceInfo } from './app-services.js';
import type { EnvoyJson } from './envoy-resources.js';
import { egressRouteConfiguration, l7lbRouteConfiguration } from './envoy-routes.js';
import { protocolGateConfigs } from './protocol-gate.js';

export const ROUTE_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const EXTENSION_CONFIG_TYPE_URL = 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig';

export interface ServedResourcesInput {
  /** Managed pods on this node. */
  readonly workloads: readonly Workload[];
  readonly multiAgentSystems: readonly MultiAgentSystem[];
  /** Services known to the inventory (ClusterIPs make requests by VIP routable). */
  readonly services?: readonly ServiceInfo[];
  readonly clusterDomain?: string;
}

export interface ServedResources {
  /** RDS: RouteConfigurations by name. */
  readonly routes: readonly EnvoyJson[];
  /** ECDS: TypedExtensionConfigs by name. */
  readonly extensionConfigs: readonly EnvoyJson[];
}

/** Pure: the same inventory gives deep-equal resources (a stable snapshot version can hash them). */
export function servedResources(input: ServedResourcesInput): ServedResources {
  const ports = appServicePorts({
    multiAgentSystems: input.multiAgentSystems,
    services: input.services,
    clusterDomain: input.clusterDomain,
  });
  return {
    routes: [
      egressRouteConfiguration(),
      l7lbRouteConfiguration(ports, { clusterDomain: input.clusterDomain }),
    ],
    extensionConfigs: protocolGateConfigs({
      workloads: input.workloads,
      multiAgentSystems: input.multiAgentSystems,
    }),
  };
}
