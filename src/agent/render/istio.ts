// The Istio objects that attach sidecars to the agent (`casa-agent render
// --dataplane istio`), per namespace of a MultiAgentSystem:
//   - EnvoyFilter `casa-node-agent`: CASA's shipped structure — ext_authz
//     inserted before the router on SIDECAR_INBOUND and SIDECAR_OUTBOUND,
//     each with its own STRICT_DNS cluster to the agent's Service on the
//     inbound (4100) and outbound (5100) ports; fail closed; the request body
//     sent (what MCP tool names and prompts are read from);
//   - with `istioAttachment: authorizationpolicy`, inbound goes through Istio's
//     own ext_authz instead: an AuthorizationPolicy `action: CUSTOM` naming the
//     extension provider `casa-node-agent` (declared in meshConfig, see
//     meshConfigSnippet), and the EnvoyFilter keeps only the outbound side
//     (AuthorizationPolicies apply to a sidecar's inbound traffic only).
//     Never both for inbound: the first ext_authz removes the token the
//     second would need.
// Same determinism as the Cilium renderer: fixed key order, sorted lists,
// the same input prints the same bytes.
import { stringify } from 'yaml';
import { type AgentConfig, ConfigError, type HostPort } from '../config/load.js';
import { duration, type EnvoyJson, TYPE } from './envoy-resources.js';
import { cmp } from './envoy-routes.js';
import type { RenderInput } from './index.js';
import { type KubernetesObject, RENDERED_LABELS } from './kubernetes-object.js';
import { EXT_AUTHZ_FILTER, HCM_FILTER, ROUTER_FILTER } from './names.js';

/** Name of every Istio object rendered, and of the meshConfig extension provider. */
export const ISTIO_NAME = 'casa-node-agent';
export const ISTIO_PROVIDER = ISTIO_NAME;
export const INBOUND_CLUSTER = 'casa-node-agent-inbound';
export const OUTBOUND_CLUSTER = 'casa-node-agent-outbound';

export type IstioAttachment = 'envoyfilter' | 'authorizationpolicy';

/** Every object kind the Istio renderer emits (what an applier owns). */
export const ISTIO_OBJECTS: readonly { readonly apiVersion: string; readonly kind: string }[] = [
  { apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter' },
  { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy' },
];

/** What the Istio objects depend on. */
export interface IstioSettings {
  /** DNS name of the agent's Service, as sidecars resolve it. */
  readonly service: string;
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly checkTimeoutMs: number;
  readonly maxRequestBytes: number;
  readonly attachment: IstioAttachment;
  readonly connectTimeoutMs: number;
}

export type IstioSettingsSource = Pick<AgentConfig, 'checkTimeout' | 'maxRequestBytes'> &
  Partial<Pick<AgentConfig, 'agentNamespace' | 'istioInboundListen' | 'istioOutboundListen'>> & {
    readonly istioService?: string;
    readonly istioAttachment?: IstioAttachment;
  };

function port(hp: HostPort | undefined, fallback: number, field: string): number {
  const p = hp?.port ?? fallback;
  // Port 0 (pick any) is fine for a listener, never for what sidecars dial.
  if (!Number.isInteger(p) || p < 1 || p > 65535) {
    throw new ConfigError(field, `sidecars need a fixed port from 1 to 65535, got ${p}`);
  }
  return p;
}

export function istioSettings(config: IstioSettingsSource): IstioSettings {
  const ns = config.agentNamespace ?? 'casa-system';
  return {
    service: config.istioService ?? `${ISTIO_NAME}.${ns}.svc.cluster.local`,
    inboundPort: port(config.istioInboundListen, 4100, 'istioInboundListen'),
    outboundPort: port(config.istioOutboundListen, 5100, 'istioOutboundListen'),
    checkTimeoutMs: config.checkTimeout,
    maxRequestBytes: config.maxRequestBytes,
    attachment: config.istioAttachment ?? 'envoyfilter',
    connectTimeoutMs: 5_000,
  };
}

export interface IstioRenderInput extends RenderInput {
  /** Namespaces to attach besides those of the MultiAgentSystems (the chart lists them). */
  readonly namespaces?: readonly string[];
}

/** Renders the Istio objects, namespace by namespace (sorted). */
export function renderIstio(input: IstioRenderInput): KubernetesObject[] {
  const s = istioSettings(input.config as IstioSettingsSource);
  const namespaces = new Set<string>(input.namespaces ?? []);
  for (const mas of input.multiAgentSystems) namespaces.add(mas.ref.namespace);
  const out: KubernetesObject[] = [];
  for (const ns of [...namespaces].sort(cmp)) {
    out.push(envoyFilter(ns, s));
    if (s.attachment === 'authorizationpolicy') out.push(authorizationPolicy(ns));
  }
  return out;
}

/** The sidecar's ext_authz filter for one side: fail closed, body included, CASA's settings. */
export function sidecarExtAuthz(cluster: string, statPrefix: string, s: IstioSettings): EnvoyJson {
  return {
    name: EXT_AUTHZ_FILTER,
    typed_config: {
      '@type': TYPE.extAuthz,
      grpc_service: { envoy_grpc: { cluster_name: cluster }, timeout: duration(s.checkTimeoutMs) },
      transport_api_version: 'V3',
      failure_mode_allow: false,
      with_request_body: {
        max_request_bytes: s.maxRequestBytes,
        allow_partial_message: true,
        pack_as_bytes: true,
      },
      status_on_error: { code: 'Forbidden' },
      include_peer_certificate: true,
      stat_prefix: statPrefix,
    },
  };
}

/** A gRPC (HTTP/2) cluster to one of the agent's ports through its Service name. */
export function agentCluster(name: string, portValue: number, s: IstioSettings): EnvoyJson {
  return {
    name,
    type: 'STRICT_DNS',
    connect_timeout: duration(s.connectTimeoutMs),
    lb_policy: 'ROUND_ROBIN',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': TYPE.httpProtocolOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: s.service, port_value: portValue } } } },
          ],
        },
      ],
    },
  };
}

type Context = 'SIDECAR_INBOUND' | 'SIDECAR_OUTBOUND';

function filterPatch(context: Context, value: EnvoyJson): object {
  return {
    applyTo: 'HTTP_FILTER',
    match: {
      context,
      listener: { filterChain: { filter: { name: HCM_FILTER, subFilter: { name: ROUTER_FILTER } } } },
    },
    patch: { operation: 'INSERT_BEFORE', value },
  };
}

function clusterPatch(context: Context, value: EnvoyJson): object {
  return { applyTo: 'CLUSTER', match: { context }, patch: { operation: 'ADD', value } };
}

export function envoyFilter(namespace: string, s: IstioSettings): KubernetesObject {
  const inbound = s.attachment === 'envoyfilter';
  const filters = [
    ...(inbound ? [filterPatch('SIDECAR_INBOUND', sidecarExtAuthz(INBOUND_CLUSTER, 'casa_inbound', s))] : []),
    filterPatch('SIDECAR_OUTBOUND', sidecarExtAuthz(OUTBOUND_CLUSTER, 'casa_outbound', s)),
  ];
  const clusters = [
    ...(inbound ? [clusterPatch('SIDECAR_INBOUND', agentCluster(INBOUND_CLUSTER, s.inboundPort, s))] : []),
    clusterPatch('SIDECAR_OUTBOUND', agentCluster(OUTBOUND_CLUSTER, s.outboundPort, s)),
  ];
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: ISTIO_NAME, namespace, labels: { ...RENDERED_LABELS } },
    spec: { configPatches: [...filters, ...clusters] },
  };
}

/** Inbound checks through Istio's ext_authz for every workload of the namespace (an empty rule matches all). */
export function authorizationPolicy(namespace: string): KubernetesObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: ISTIO_NAME, namespace, labels: { ...RENDERED_LABELS } },
    spec: { action: 'CUSTOM', provider: { name: ISTIO_PROVIDER }, rules: [{}] },
  };
}

/**
 * The `extensionProviders` entry of Istio's meshConfig (IstioOperator
 * `spec.meshConfig`, istiod Helm values `meshConfig`, or the `mesh` key of
 * ConfigMap istio-system/istio) for the CUSTOM AuthorizationPolicy. Field
 * names as in istio.mesh.v1alpha1.MeshConfig.ExtensionProvider
 * .EnvoyExternalAuthorizationGrpcProvider.
 */
export function meshConfigProvider(s: IstioSettings): object {
  return {
    name: ISTIO_PROVIDER,
    envoyExtAuthzGrpc: {
      service: s.service,
      port: s.inboundPort,
      timeout: duration(s.checkTimeoutMs),
      failOpen: false,
      statusOnError: '403',
      includeRequestBodyInCheck: {
        maxRequestBytes: s.maxRequestBytes,
        allowPartialMessage: true,
        packAsBytes: true,
      },
    },
  };
}

/** The meshConfig snippet as YAML, ready to merge under `meshConfig:`. */
export function meshConfigSnippet(s: IstioSettings): string {
  return stringify({ extensionProviders: [meshConfigProvider(s)] }, { lineWidth: 0 });
}
