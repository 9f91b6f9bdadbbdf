// The xDS wire vocabulary shared by the stream state machines and the gRPC
// transport: discovery message shapes (as @grpc/proto-loader decodes them with
// protos.ts' LOADER_OPTIONS), resource type URLs, the services that carry
// them, and the observer through which the agent counts and logs.
// Protocol: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
import type { EncodedAny } from './codec.js';

export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  scopedRoute: 'type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  extensionConfig: 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  runtime: 'type.googleapis.com/envoy.service.runtime.v3.Runtime',
} as const;

/**
 * Listener and Cluster are the SotW types whose every response carries the
 * complete set the client subscribed to; a resource missing from a response
 * is deleted by the client (xds_protocol "Grouping Resources into Responses").
 */
export function isFullStateType(typeUrl: string): boolean {
  return typeUrl === TYPE_URL.listener || typeUrl === TYPE_URL.cluster;
}

/** The per-type discovery services (non-aggregated variants); ADS carries every type. */
export const PER_TYPE_SERVICES = [
  {
    file: 'envoy/service/listener/v3/lds.proto',
    service: 'envoy.service.listener.v3.ListenerDiscoveryService',
    stream: 'StreamListeners',
    delta: 'DeltaListeners',
    fetch: 'FetchListeners',
    typeUrl: TYPE_URL.listener,
  },
  {
    file: 'envoy/service/route/v3/rds.proto',
    service: 'envoy.service.route.v3.RouteDiscoveryService',
    stream: 'StreamRoutes',
    delta: 'DeltaRoutes',
    fetch: 'FetchRoutes',
    typeUrl: TYPE_URL.route,
  },
  {
    file: 'envoy/service/route/v3/srds.proto',
    service: 'envoy.service.route.v3.ScopedRoutesDiscoveryService',
    stream: 'StreamScopedRoutes',
    delta: 'DeltaScopedRoutes',
    fetch: 'FetchScopedRoutes',
    typeUrl: TYPE_URL.scopedRoute,
  },
  {
    file: 'envoy/service/cluster/v3/cds.proto',
    service: 'envoy.service.cluster.v3.ClusterDiscoveryService',
    stream: 'StreamClusters',
    delta: 'DeltaClusters',
    fetch: 'FetchClusters',
    typeUrl: TYPE_URL.cluster,
  },
  {
    file: 'envoy/service/endpoint/v3/eds.proto',
    service: 'envoy.service.endpoint.v3.EndpointDiscoveryService',
    stream: 'StreamEndpoints',
    delta: 'DeltaEndpoints',
    fetch: 'FetchEndpoints',
    typeUrl: TYPE_URL.endpoint,
  },
  {
    file: 'envoy/service/extension/v3/config_discovery.proto',
    service: 'envoy.service.extension.v3.ExtensionConfigDiscoveryService',
    stream: 'StreamExtensionConfigs',
    delta: 'DeltaExtensionConfigs',
    fetch: 'FetchExtensionConfigs',
    typeUrl: TYPE_URL.extensionConfig,
  },
  {
    file: 'envoy/service/secret/v3/sds.proto',
    service: 'envoy.service.secret.v3.SecretDiscoveryService',
    stream: 'StreamSecrets',
    delta: 'DeltaSecrets',
    fetch: 'FetchSecrets',
    typeUrl: TYPE_URL.secret,
  },
  {
    file: 'envoy/service/runtime/v3/rtds.proto',
    service: 'envoy.service.runtime.v3.RuntimeDiscoveryService',
    stream: 'StreamRuntime',
    delta: 'DeltaRuntime',
    fetch: 'FetchRuntime',
    typeUrl: TYPE_URL.runtime,
  },
] as const;

export const ADS_FILE = 'envoy/service/discovery/v3/ads.proto';
export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

/** envoy.config.core.v3.Node, as far as the server reads it. */
export interface XdsNode {
  readonly id?: string;
  readonly cluster?: string;
  readonly user_agent_name?: string;
  readonly user_agent_version?: string;
  readonly [field: string]: unknown;
}

/** google.rpc.Status in a NACK. */
export interface ErrorDetail {
  readonly code?: number;
  readonly message?: string;
}

export interface DiscoveryRequest {
  readonly version_info?: string;
  readonly node?: XdsNode | null;
  readonly resource_names?: readonly string[];
  readonly type_url?: string;
  readonly response_nonce?: string;
  readonly error_detail?: ErrorDetail | null;
}

export interface DiscoveryResponse {
  readonly version_info: string;
  readonly resources: readonly EncodedAny[];
  readonly type_url: string;
  readonly nonce: string;
  readonly control_plane?: { readonly identifier: string };
}

export interface DeltaDiscoveryRequest {
  readonly node?: XdsNode | null;
  readonly type_url?: string;
  readonly resource_names_subscribe?: readonly string[];
  readonly resource_names_unsubscribe?: readonly string[];
  readonly initial_resource_versions?: Readonly<Record<string, string>> | null;
  readonly response_nonce?: string;
  readonly error_detail?: ErrorDetail | null;
}

export interface DeltaResource {
  readonly name: string;
  readonly version: string;
  readonly resource: EncodedAny;
}

export interface DeltaDiscoveryResponse {
  readonly system_version_info: string;
  readonly resources: readonly DeltaResource[];
  readonly type_url: string;
  readonly removed_resources: readonly string[];
  readonly nonce: string;
  readonly control_plane?: { readonly identifier: string };
}

export type StreamKind = 'sotw' | 'delta';

/** Who is on the other end of a stream (for logs, metrics and /debug/state). */
export interface StreamRef {
  readonly streamId: string;
  readonly kind: StreamKind;
  /** gRPC service the stream was opened on (ADS or a per-type service). */
  readonly service: string;
  /** Node id from the first request ('' until it arrived). */
  readonly nodeId: string;
}

export interface ResponseEvent extends StreamRef {
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  readonly resources: number;
  /** Delta only: names in removed_resources. */
  readonly removed: number;
}

export interface AckEvent extends StreamRef {
  readonly typeUrl: string;
  /** The version the client now runs (the one sent with the ACKed nonce). */
  readonly version: string;
  readonly nonce: string;
}

export interface NackEvent extends StreamRef {
  readonly typeUrl: string;
  /** The rejected version; it is parked (not resent) until the snapshot changes. */
  readonly version: string;
  readonly nonce: string;
  /** The last version this stream ACKed for the type: what the client still runs. */
  readonly lastAcked?: string;
  readonly errorCode: number;
  readonly errorMessage: string;
}

export type StreamEndReason = 'ended' | 'cancelled' | 'error' | 'protocol_error' | 'server_shutdown';

/** Callbacks for metrics and logs; every method optional, none may throw. */
export interface XdsObserver {
  onStreamOpen?(stream: StreamRef): void;
  onStreamClose?(stream: StreamRef, reason: StreamEndReason, detail?: string): void;
  onResponse?(event: ResponseEvent): void;
  onAck?(event: AckEvent): void;
  onNack?(event: NackEvent): void;
}

/** Per type on one stream: what was sent, what the client runs, what it rejected. */
export interface TypeStatus {
  readonly sent?: string;
  readonly acked?: string;
  readonly nacked?: string;
  readonly error?: string;
}

/** One connected client stream, shaped like /debug/state's `xds.clients[]`. */
export interface XdsClientStatus {
  readonly node: string;
  readonly stream: string;
  readonly kind: StreamKind;
  readonly service: string;
  readonly userAgent?: string;
  readonly types: Readonly<Record<string, TypeStatus>>;
}

/** A request the protocol does not allow; the transport ends the stream with `code`. */
export class XdsProtocolError extends Error {
  constructor(
    /** gRPC status code (INVALID_ARGUMENT = 3, RESOURCE_EXHAUSTED = 8). */
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'XdsProtocolError';
  }
}
