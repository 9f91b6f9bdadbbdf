// The declarative table of every setting: one row gives its flag, its CASA_*
// environment variable, its config-file key, its default and its parser.
// `--help` is generated from this table, so it cannot drift from the loader.

export type SettingKind = 'string' | 'int' | 'duration' | 'bool' | 'enum' | 'hostport' | 'url' | 'list';

export interface SettingSpec {
  /** Config-file key (camelCase) and the property name in AgentConfig. */
  readonly key: string;
  readonly kind: SettingKind;
  readonly help: string;
  /** Default as written on the command line; undefined = no default. */
  readonly default?: string;
  readonly values?: readonly string[];
  /** Inclusive bounds for int and duration (ms). */
  readonly min?: number;
  readonly max?: number;
  /** Which subcommands read it (for --help grouping). */
  readonly commands: readonly ('run' | 'dev' | 'render' | 'diag')[];
}

const RUN_DEV = ['run', 'dev'] as const;

export const SETTINGS: readonly SettingSpec[] = [
  {
    key: 'config',
    kind: 'string',
    help: 'YAML config file; flags and CASA_* variables override its keys',
    commands: ['run', 'dev', 'render', 'diag'],
  },
  {
    key: 'nodeName',
    kind: 'string',
    help: "this node's name (spec.nodeName of the pods whose egress this agent checks)",
    commands: ['run', 'render'],
  },
  {
    key: 'inventory',
    kind: 'enum',
    values: ['kubernetes', 'file'],
    default: 'kubernetes',
    help: 'where workloads come from',
    commands: ['run'],
  },
  {
    key: 'manifests',
    kind: 'string',
    help: 'folder of Kubernetes YAML for --inventory file (reloaded on change)',
    commands: ['run', 'render'],
  },
  {
    key: 'kubeconfig',
    kind: 'string',
    help: 'kubeconfig for --inventory kubernetes (default: in-cluster, then $KUBECONFIG)',
    commands: ['run', 'render'],
  },
  {
    key: 'dataplane',
    kind: 'enum',
    values: ['cilium', 'istio', 'auto'],
    default: 'cilium',
    help: 'which Envoy this agent serves',
    commands: ['run', 'render'],
  },
  {
    key: 'runtimeUrl',
    kind: 'url',
    help: 'base URL of the CASA runtime (OAuth2 server)',
    commands: ['run', 'render'],
  },
  {
    key: 'runtimeProfile',
    kind: 'enum',
    values: ['casa', 'rfc'],
    default: 'casa',
    help: 'runtime API profile',
    commands: ['run'],
  },
  {
    key: 'runtimeTimeout',
    kind: 'duration',
    default: '2s',
    min: 10,
    max: 60_000,
    help: 'deadline of one runtime call',
    commands: RUN_DEV,
  },
  {
    key: 'runtimeConcurrency',
    kind: 'int',
    default: '64',
    min: 1,
    max: 4096,
    help: 'runtime calls in flight at most (more wait in a bounded queue)',
    commands: RUN_DEV,
  },
  {
    key: 'runtimeQueue',
    kind: 'int',
    default: '1024',
    min: 0,
    max: 100_000,
    help: 'runtime calls waiting at most; beyond it Checks deny with "overloaded"',
    commands: RUN_DEV,
  },
  {
    key: 'runtimeTokenPath',
    kind: 'string',
    default: '/{app_id}/oauth2/token',
    help: 'casa profile: user-input token endpoint path',
    commands: ['run'],
  },
  {
    key: 'runtimeExchangePath',
    kind: 'string',
    default: '/{app_id}/oauth2/token_exchange',
    help: 'casa profile: token exchange endpoint path',
    commands: ['run'],
  },
  {
    key: 'runtimeIntrospectPath',
    kind: 'string',
    default: '/oauth2/introspect',
    help: 'casa profile: introspection endpoint path',
    commands: ['run'],
  },
  {
    key: 'runtimeSharedCache',
    kind: 'bool',
    default: 'true',
    help: "casa profile: share trace tokens through the runtime's /k8s/.../cache API",
    commands: ['run'],
  },
  {
    key: 'rfcIntrospectionEndpoint',
    kind: 'url',
    help: 'rfc profile: RFC 7662 endpoint (default: RFC 8414 discovery)',
    commands: ['run'],
  },
  {
    key: 'rfcTokenEndpoint',
    kind: 'url',
    help: 'rfc profile: token endpoint for RFC 8693 exchange (default: discovery)',
    commands: ['run'],
  },
  {
    key: 'rfcClientId',
    kind: 'string',
    help: "rfc profile: the agent's own client id for introspection",
    commands: ['run'],
  },
  {
    key: 'rfcClientSecret',
    kind: 'string',
    help: "rfc profile: the agent's own client secret (prefer the env variable)",
    commands: ['run'],
  },
  {
    key: 'authzListen',
    kind: 'hostport',
    default: '127.0.0.1:9191',
    help: 'ext_authz gRPC listen address (Envoy reaches it on loopback)',
    commands: ['run', 'render'],
  },
  {
    key: 'xdsListen',
    kind: 'hostport',
    default: '127.0.0.1:9192',
    help: 'xDS (ADS) gRPC listen address',
    commands: ['run', 'render'],
  },
  {
    key: 'diagListen',
    kind: 'hostport',
    default: '0.0.0.0:9193',
    help: 'diagnostics HTTP listen address (/healthz /readyz /metrics /debug/*)',
    commands: ['run', 'diag'],
  },
  {
    key: 'istioInboundListen',
    kind: 'hostport',
    default: '0.0.0.0:4100',
    help: 'istio data plane: ext_authz for SIDECAR_INBOUND',
    commands: ['run', 'render'],
  },
  {
    key: 'istioOutboundListen',
    kind: 'hostport',
    default: '0.0.0.0:5100',
    help: 'istio data plane: ext_authz for SIDECAR_OUTBOUND',
    commands: ['run', 'render'],
  },
  {
    key: 'istioService',
    kind: 'string',
    help: "istio data plane: DNS name sidecars reach the agent's ext_authz ports at (default: casa-node-agent.<agentNamespace>.svc.cluster.local)",
    commands: ['render'],
  },
  {
    key: 'istioAttachment',
    kind: 'enum',
    values: ['envoyfilter', 'authorizationpolicy'],
    default: 'envoyfilter',
    help: "istio data plane: inbound checks through CASA's EnvoyFilter, or a CUSTOM AuthorizationPolicy with the meshConfig extension provider (outbound is always an EnvoyFilter)",
    commands: ['render'],
  },
  {
    key: 'logLevel',
    kind: 'enum',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    help: 'log level',
    commands: ['run', 'dev', 'render', 'diag'],
  },
  {
    key: 'requireTraceContext',
    kind: 'bool',
    default: 'true',
    help: 'deny outbound requests without a W3C traceparent (missing_trace_context)',
    commands: RUN_DEV,
  },
  {
    key: 'introspectionTtl',
    kind: 'duration',
    default: '30s',
    min: 1000,
    max: 300_000,
    help: 'introspection cache lifetime (never beyond the token exp)',
    commands: RUN_DEV,
  },
  {
    key: 'negativeTtl',
    kind: 'duration',
    default: '5s',
    min: 0,
    max: 60_000,
    help: 'lifetime of cached inactive-token results',
    commands: RUN_DEV,
  },
  {
    key: 'exchangeSkew',
    kind: 'duration',
    default: '15s',
    min: 0,
    max: 120_000,
    help: 'exchanged tokens are dropped this long before their exp',
    commands: RUN_DEV,
  },
  {
    key: 'cacheMaxEntries',
    kind: 'int',
    default: '50000',
    min: 16,
    max: 10_000_000,
    help: 'entries per token cache at most',
    commands: RUN_DEV,
  },
  {
    key: 'cacheMaxBytes',
    kind: 'int',
    default: '67108864',
    min: 65_536,
    max: 4_294_967_296,
    help: 'bytes per token cache at most',
    commands: RUN_DEV,
  },
  {
    key: 'traceTtl',
    kind: 'duration',
    default: '10m',
    min: 1000,
    max: 86_400_000,
    help: "how long a trace's remembered inbound token is kept",
    commands: RUN_DEV,
  },
  {
    key: 'maxRequestBytes',
    kind: 'int',
    default: '60000',
    min: 1024,
    max: 8_388_608,
    help: 'request body bytes Envoy sends to ext_authz (with_request_body)',
    commands: ['run', 'render', 'dev'],
  },
  {
    key: 'checkTimeout',
    kind: 'duration',
    default: '5s',
    min: 50,
    max: 60_000,
    help: 'Envoy ext_authz timeout; the agent denies with deadline_exceeded shortly before it',
    commands: ['run', 'render', 'dev'],
  },
  {
    key: 'drainTimeout',
    kind: 'duration',
    default: '10s',
    min: 0,
    max: 600_000,
    help: 'on SIGTERM, how long in-flight Checks may finish',
    commands: RUN_DEV,
  },
  {
    key: 'decisionLog',
    kind: 'int',
    default: '512',
    min: 0,
    max: 100_000,
    help: 'recent decisions kept for /debug/decisions',
    commands: RUN_DEV,
  },
  {
    key: 'otlpEndpoint',
    kind: 'url',
    help: 'OTLP endpoint for decision spans (also OTEL_EXPORTER_OTLP_ENDPOINT); off when unset',
    commands: RUN_DEV,
  },
  {
    key: 'otlpProtocol',
    kind: 'enum',
    values: ['grpc', 'http/protobuf'],
    // The OpenTelemetry SDK specification's default: an endpoint copied from a
    // collector's docs (:4318) must not be spoken to in gRPC and lose every span.
    default: 'http/protobuf',
    help: 'OTLP protocol (also OTEL_EXPORTER_OTLP_PROTOCOL)',
    commands: RUN_DEV,
  },
  {
    key: 'applyClusterObjects',
    kind: 'bool',
    default: 'false',
    help: 'elect one agent (Lease) to server-side apply the cluster-wide Cilium objects',
    commands: ['run'],
  },
  {
    key: 'applyLeaseDuration',
    kind: 'duration',
    default: '15s',
    min: 2_000,
    max: 600_000,
    help: 'applyClusterObjects: how long the Lease stays valid unrenewed (takeover time after a crash)',
    commands: ['run'],
  },
  {
    key: 'applyRenewDeadline',
    kind: 'duration',
    default: '10s',
    min: 1_000,
    max: 600_000,
    help: 'applyClusterObjects: the writer stops writing when it could not renew for this long (< lease duration)',
    commands: ['run'],
  },
  {
    key: 'applyRetryPeriod',
    kind: 'duration',
    default: '2s',
    min: 100,
    max: 60_000,
    help: 'applyClusterObjects: time between Lease acquire/renew attempts',
    commands: ['run'],
  },
  {
    key: 'applyResync',
    kind: 'duration',
    default: '60s',
    min: 1_000,
    max: 3_600_000,
    help: 'applyClusterObjects: periodic re-apply (repairs hand edits and deletions)',
    commands: ['run'],
  },
  {
    key: 'agentNamespace',
    kind: 'string',
    default: 'casa-system',
    help: 'namespace of the agent (Lease, events)',
    commands: ['run', 'render'],
  },
  {
    key: 'podName',
    kind: 'string',
    help: "this agent pod's name (Lease holder identity)",
    commands: ['run'],
  },
];

/** Flag name (`--node-name`) for a setting key (`nodeName`). */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Environment variable (`CASA_NODE_NAME`) for a setting key (`nodeName`). */
export function envName(key: string): string {
  return `CASA_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}
