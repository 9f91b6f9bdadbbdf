// Builders of the Envoy resources placed in the CiliumClusterwideEnvoyConfigs:
// listeners, their HTTP filter chains and clusters, as proto3 JSON with
// snake_case field names and `@type` on every Any (what Cilium's envoy-config
// parser takes). Pure functions of the settings; no I/O.
//
// Two rules shape every choice here (ARCHITECTURE.md §4):
//   - the agent is reached with `google_grpc` on loopback, never `envoy_grpc`:
//     clusters from an envoy config arrive over CDS and Envoy refuses them as
//     the cluster of an `api_config_source` or an ext_authz `grpc_service`;
//   - everything fails closed: ext_authz `failure_mode_allow: false`, the
//     protocol gate's ECDS default DENIES until the agent answers, and RDS
//     routes exist only once the agent served them.
import type { AgentConfig, HostPort } from '../config/load.js';
import {
  EGRESS_GATE_FILTER,
  EGRESS_LISTENER,
  EGRESS_ROUTES,
  EXT_AUTHZ_FILTER,
  HCM_FILTER,
  L7LB_GATE_FILTER,
  L7LB_LISTENER,
  L7LB_ROUTES,
  ORIGINAL_DST_CLUSTER,
  ROUTER_FILTER,
  serviceClusterName,
} from './names.js';

/** A proto3-JSON object as Cilium and Envoy read it. */
export type EnvoyJson = { [key: string]: unknown };

export const TYPE = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  routeConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  typedExtensionConfig: 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig',
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  extAuthz: 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  extAuthzPerRoute: 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
  rbac: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  httpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
} as const;

/** What the Envoy resources depend on, taken from AgentConfig (see envoySettings). */
export interface EnvoySettings {
  /** gRPC target of the ext_authz service, e.g. `127.0.0.1:9191`. */
  readonly authzTarget: string;
  /** gRPC target of the agent's RDS/ECDS server, e.g. `127.0.0.1:9192`. */
  readonly xdsTarget: string;
  /** ext_authz timeout (ms): Envoy gives up and denies after it. */
  readonly checkTimeoutMs: number;
  /** Request body bytes sent to ext_authz. */
  readonly maxRequestBytes: number;
  /** Per-type xDS transport: `GRPC` (state of the world) or `DELTA_GRPC`. */
  readonly xdsApiType: 'GRPC' | 'DELTA_GRPC';
  /** How long Envoy waits for the first RDS/ECDS answer before using defaults (deny). */
  readonly initialFetchTimeoutMs: number;
  /** Upstream connect timeout of the data clusters. */
  readonly connectTimeoutMs: number;
}

export type EnvoySettingsSource = Pick<
  AgentConfig,
  'authzListen' | 'xdsListen' | 'checkTimeout' | 'maxRequestBytes'
>;

export function envoySettings(
  config: EnvoySettingsSource,
  overrides: Partial<Omit<EnvoySettings, 'authzTarget' | 'xdsTarget'>> = {},
): EnvoySettings {
  return {
    authzTarget: loopbackTarget(config.authzListen),
    xdsTarget: loopbackTarget(config.xdsListen),
    checkTimeoutMs: config.checkTimeout,
    maxRequestBytes: config.maxRequestBytes,
    xdsApiType: overrides.xdsApiType ?? 'GRPC',
    initialFetchTimeoutMs: overrides.initialFetchTimeoutMs ?? 15_000,
    connectTimeoutMs: overrides.connectTimeoutMs ?? 5_000,
  };
}

/**
 * Envoy and the agent share the host network namespace, so Envoy dials the
 * agent on loopback even when the agent listens on a wildcard address.
 */
export function loopbackTarget(listen: HostPort): string {
  const wildcardV4 = listen.host === '0.0.0.0' || listen.host === '';
  const wildcardV6 = listen.host === '::' || listen.host === '[::]';
  const host = wildcardV4 ? '127.0.0.1' : wildcardV6 ? '::1' : listen.host;
  return host.includes(':') ? `[${host}]:${listen.port}` : `${host}:${listen.port}`;
}

/** proto3 JSON Duration from milliseconds (`5s`, `0.25s`). */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`duration must be a non-negative number: ${ms}`);
  return `${Math.round(ms) / 1000}s`;
}

/** A GrpcService that reaches the agent directly (google_grpc), never a CDS cluster. */
export function agentGrpcService(target: string, statPrefix: string, timeoutMs?: number): EnvoyJson {
  const svc: EnvoyJson = { google_grpc: { target_uri: target, stat_prefix: statPrefix } };
  if (timeoutMs !== undefined) svc.timeout = duration(timeoutMs);
  return svc;
}

/** ConfigSource for RDS/ECDS served by the agent (per-type gRPC service, v3). */
export function agentConfigSource(s: EnvoySettings): EnvoyJson {
  return {
    api_config_source: {
      api_type: s.xdsApiType,
      transport_api_version: 'V3',
      grpc_services: [agentGrpcService(s.xdsTarget, 'casa_xds')],
      set_node_on_first_message_only: true,
    },
    initial_fetch_timeout: duration(s.initialFetchTimeoutMs),
    resource_api_version: 'V3',
  };
}

/** The ext_authz HTTP filter: the authoritative CASA decision, fail closed. */
export function extAuthzFilter(s: EnvoySettings): EnvoyJson {
  return {
    name: EXT_AUTHZ_FILTER,
    typed_config: {
      '@type': TYPE.extAuthz,
      grpc_service: agentGrpcService(s.authzTarget, 'casa_authz', s.checkTimeoutMs),
      transport_api_version: 'V3',
      failure_mode_allow: false,
      with_request_body: {
        max_request_bytes: s.maxRequestBytes,
        allow_partial_message: true,
        pack_as_bytes: true,
      },
      status_on_error: { code: 'Forbidden' },
      include_peer_certificate: true,
      stat_prefix: 'casa',
    },
  };
}

/**
 * RBAC that allows nothing: the gate's config until the agent serves the real
 * one (ECDS `default_config`), so a listener never runs with an open gate.
 */
export function denyAllRbac(): EnvoyJson {
  return { '@type': TYPE.rbac, rules: { action: 'ALLOW', policies: {} } };
}

/**
 * The protocol gate: an RBAC filter whose config the agent serves over ECDS
 * (see protocol-gate.ts). `apply_default_config_without_warming: false` makes
 * the listener wait for the agent (up to initial_fetch_timeout), after which
 * the deny-all default applies.
 */
export function protocolGateFilter(name: string, s: EnvoySettings): EnvoyJson {
  return {
    name,
    config_discovery: {
      config_source: agentConfigSource(s),
      default_config: denyAllRbac(),
      apply_default_config_without_warming: false,
      type_urls: [TYPE.rbac],
    },
  };
}

export function routerFilter(): EnvoyJson {
  return { name: ROUTER_FILTER, typed_config: { '@type': TYPE.router } };
}

export interface HcmSpec {
  readonly statPrefix: string;
  /** Route configuration name as written (Cilium qualifies it, see names.ts). */
  readonly routeConfigName: string;
  /** ECDS name of the protocol-gate filter. */
  readonly gateFilter: string;
}

/**
 * HttpConnectionManager: gate (ECDS) → ext_authz → router; routes over RDS
 * from the agent. Cilium inserts `cilium.l7policy` right before the router.
 */
export function httpConnectionManager(spec: HcmSpec, s: EnvoySettings): EnvoyJson {
  return {
    name: HCM_FILTER,
    typed_config: {
      '@type': TYPE.hcm,
      stat_prefix: spec.statPrefix,
      codec_type: 'AUTO',
      // One path for the gate, ext_authz and the app: dot-segments resolved and
      // `//` merged before any filter runs, and the upstream gets that same path
      // (both default off: the app would route the raw path the gate never saw).
      // Encoded slashes have no place in MCP/A2A paths and servers disagree on
      // them: refused with 400 before any filter.
      normalize_path: true,
      merge_slashes: true,
      path_with_escaped_slashes_action: 'REJECT_REQUEST',
      rds: { route_config_name: spec.routeConfigName, config_source: agentConfigSource(s) },
      http_filters: [protocolGateFilter(spec.gateFilter, s), extAuthzFilter(s), routerFilter()],
    },
  };
}

/**
 * A listener without an address: Cilium allocates its proxy port and adds
 * `cilium.bpf_metadata`, which restores the original destination.
 */
function proxyListener(name: string, spec: HcmSpec, s: EnvoySettings): EnvoyJson {
  return {
    '@type': TYPE.listener,
    name,
    filter_chains: [{ filters: [httpConnectionManager(spec, s)] }],
  };
}

/** Listener for managed pods' egress (network-policy `toPorts[].listener`). */
export function egressListener(s: EnvoySettings): EnvoyJson {
  return proxyListener(
    EGRESS_LISTENER,
    { statPrefix: 'casa_egress', routeConfigName: EGRESS_ROUTES, gateFilter: EGRESS_GATE_FILTER },
    s,
  );
}

/** Listener for traffic to Services of MAS apps (`spec.services`, L7 load balancing). */
export function l7lbListener(s: EnvoySettings): EnvoyJson {
  return proxyListener(
    L7LB_LISTENER,
    { statPrefix: 'casa_l7lb', routeConfigName: L7LB_ROUTES, gateFilter: L7LB_GATE_FILTER },
    s,
  );
}

/**
 * Upstream HTTP keeps the downstream protocol, so HTTP/1.1 stays HTTP/1.1 and
 * h2c (gRPC, A2A over HTTP/2) stays HTTP/2.
 */
function downstreamProtocolOptions(): EnvoyJson {
  return {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': TYPE.httpProtocolOptions,
      use_downstream_protocol_config: {},
    },
  };
}

/** Forwards each connection to the pod's original destination (egress path). */
export function originalDstCluster(s: EnvoySettings): EnvoyJson {
  return {
    '@type': TYPE.cluster,
    name: ORIGINAL_DST_CLUSTER,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: duration(s.connectTimeoutMs),
    typed_extension_protocol_options: downstreamProtocolOptions(),
  };
}

/**
 * EDS cluster of a MAS app Service; Cilium publishes its endpoints under this
 * very name and fills in `eds_config`. Service VIPs are not routable from
 * Envoy's network namespace (cilium/cilium#45640), hence EDS, not ORIGINAL_DST.
 */
export function serviceCluster(namespace: string, name: string, port: number, s: EnvoySettings): EnvoyJson {
  return {
    '@type': TYPE.cluster,
    name: serviceClusterName(namespace, name, port),
    type: 'EDS',
    lb_policy: 'ROUND_ROBIN',
    connect_timeout: duration(s.connectTimeoutMs),
    typed_extension_protocol_options: downstreamProtocolOptions(),
  };
}
