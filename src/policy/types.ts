// Domain vocabulary shared by every component (ARCHITECTURE.md §2).
// Plain data only: no I/O, no clocks, no classes with hidden state.

/** The three CASA app types. The shipped CRD enum lists only agent and mcp_server. */
export type AppType = 'agent' | 'mcp_server' | 'client';
export const APP_TYPES: readonly AppType[] = ['agent', 'mcp_server', 'client'];

export function isAppType(v: unknown): v is AppType {
  return v === 'agent' || v === 'mcp_server' || v === 'client';
}

/** Namespaced reference to a MultiAgentSystem object. */
export interface MasRef {
  readonly namespace: string;
  readonly name: string;
}

/** One entry of `MultiAgentSystem.spec.apps[]`, parsed and validated. */
export interface AppSpec {
  readonly name: string;
  readonly type: AppType;
  readonly kubernetesWorkloadName?: string;
  readonly baseUrl?: { readonly host: string; readonly scheme: 'http' | 'https' };
  /** kubectl JSONPath subset, e.g. `{.prompt}` or `{.messages[-1].content}`. */
  readonly promptFieldJsonPath?: string;
}

/** A parsed MultiAgentSystem. */
export interface MultiAgentSystem {
  readonly ref: MasRef;
  readonly uid?: string;
  readonly generation?: number;
  /** `spec.llm_host`: the one LLM endpoint apps of this MAS may reach. */
  readonly llmHost?: string;
  readonly apps: readonly AppSpec[];
}

/** OAuth2 client credentials of an app (Secret `<app-id>-oauth2-credentials`). */
export interface AppCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * The app a request side resolves to. `appId` is the runtime's id for the app
 * (the path segment of `/{app_id}/oauth2/token` and the Secret name prefix).
 */
export interface AppIdentity {
  readonly mas: MasRef;
  readonly masUid?: string;
  readonly llmHost?: string;
  readonly app: AppSpec;
  /** Effective type: the `casa.io/app-type` label may override `app.type`. */
  readonly type: AppType;
  readonly appId: string;
}

/** A managed pod resolved to its app (ARCHITECTURE.md §2 "Workload"). */
export interface Workload extends AppIdentity {
  readonly kind: 'pod';
  readonly namespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly ips: readonly string[];
  readonly nodeName?: string;
}

/** A Service VIP of a MAS app (the L7 load-balancing path). */
export interface ServiceTarget extends AppIdentity {
  readonly kind: 'service';
  readonly namespace: string;
  readonly serviceName: string;
  readonly clusterIps: readonly string[];
}

/** Either side of a request, once resolved; undefined means unmanaged. */
export type Endpoint = Workload | ServiceTarget;

export type Direction = 'inbound' | 'outbound';

/** Token claims as returned by introspection (RFC 7662 + CASA fields). */
export interface TokenClaims {
  readonly active: boolean;
  readonly scope?: readonly string[];
  readonly sub?: string;
  readonly clientId?: string;
  /** Seconds since the epoch. */
  readonly exp?: number;
  readonly iat?: number;
  readonly tools?: readonly string[];
  readonly appId?: string;
  readonly masId?: string;
  readonly userInputId?: string;
  readonly act?: Readonly<Record<string, unknown>>;
}

/**
 * Stable deny reason codes. These are an operator contract: they appear in
 * deny bodies, logs, metrics and decision telemetry. Never rename one.
 */
export const DENY_REASONS = [
  // protocol gate
  'protocol_violation',
  // inbound
  'missing_token',
  'malformed_token',
  'multiple_tokens',
  'inactive_token',
  'expired_token',
  'insufficient_scope',
  'tool_not_permitted',
  // outbound / delegation
  'no_delegation',
  'missing_trace_context',
  'missing_credentials',
  'missing_prompt',
  'exchange_failed',
  'token_issue_failed',
  // request shape
  'body_required',
  'body_invalid',
  // runtime and internal failures (always fail closed)
  'runtime_unavailable',
  'runtime_timeout',
  'runtime_bad_response',
  'deadline_exceeded',
  'overloaded',
  'unknown_workload',
  'internal_error',
] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

/** A header to set on the upstream request (ext_authz OkHttpResponse.headers). */
export interface HeaderToSet {
  readonly key: string;
  readonly value: string;
  /** Overwrite an existing value (OVERWRITE_IF_EXISTS_OR_ADD) rather than append. */
  readonly overwrite: boolean;
}

export interface Allow {
  readonly kind: 'allow';
  readonly headersToSet: readonly HeaderToSet[];
  readonly headersToRemove: readonly string[];
}

export interface Deny {
  readonly kind: 'deny';
  /** HTTP status returned to the caller (403 unless stated otherwise). */
  readonly status: number;
  readonly reason: DenyReason;
  /** Human-readable, never contains a token. */
  readonly message: string;
}

export type Decision = Allow | Deny;

export function deny(reason: DenyReason, message: string, status = 403): Deny {
  return { kind: 'deny', status, reason, message };
}
