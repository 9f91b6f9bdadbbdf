// The contract between the authorization flow and the CASA runtime. Two
// implementations: the `casa` profile (the shipped CASA auth service) and the
// `rfc` profile (RFC 7662 introspection + RFC 8693 token exchange).
// Every failure is a RuntimeError whose kind the caller maps to a deny.
import type { AppCredentials, AppType, TokenClaims } from '../../policy/types.js';

export type RuntimeErrorKind =
  /** connection refused/reset, DNS failure, TLS failure */
  | 'unavailable'
  /** the per-call deadline (or the caller's signal) expired */
  | 'timeout'
  /** 5xx, HTML, truncated or oversized body, wrong JSON types */
  | 'bad_response'
  /** a well-formed 4xx refusal (bad credentials, unknown app, invalid grant) */
  | 'rejected'
  /** the bounded call queue is full */
  | 'overloaded';

export class RuntimeError extends Error {
  override name = 'RuntimeError';
  constructor(
    readonly kind: RuntimeErrorKind,
    message: string,
    readonly status?: number,
    /** The runtime's own reason code, e.g. `tool_intent_mismatch`, when it gave one. */
    readonly runtimeReason?: string,
  ) {
    super(message);
  }
}

/** A token the runtime issued. `expiresAt` is seconds since the epoch. */
export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresAt?: number;
}

export interface CallOptions {
  /** Aborts the call (the Check's own deadline). */
  readonly signal?: AbortSignal;
}

export interface ExchangeRequest {
  /** The app asking (the request's source); its credentials authenticate the call. */
  readonly appId: string;
  readonly credentials: AppCredentials;
  readonly subjectToken: string;
  /** `<scheme>://<host>/mcp` of the destination MCP server, when it is one. */
  readonly mcpServerUrl?: string;
  /** The destination app's id (audience), when known. */
  readonly audienceAppId?: string;
  /** `[params.name]` for MCP tools/call, absent otherwise. */
  readonly tools?: readonly string[];
}

export interface UserTokenRequest {
  readonly appId: string;
  readonly credentials: AppCredentials;
  /** The user's prompt as read with promptFieldJsonPath. */
  readonly userInput: string;
}

/** Key of a token in the runtime's shared trace cache (casa: /k8s/namespaces/{ns}/cache/*). */
export interface TraceTokenKey {
  readonly namespace: string;
  readonly traceId: string;
  readonly appHost: string;
  readonly appType: AppType;
  readonly tool?: string;
}

export interface RuntimeClient {
  readonly profile: 'casa' | 'rfc';
  /** RFC 7662 introspection; `tools` is passed to the casa profile's endpoint. */
  introspect(token: string, tools: readonly string[] | undefined, opts?: CallOptions): Promise<TokenClaims>;
  /** A T1 for a user prompt, with the app's own credentials. */
  issueUserToken(req: UserTokenRequest, opts?: CallOptions): Promise<IssuedToken>;
  /** Exchange a subject token for a token to call the destination (T3 with tools for MCP tools/call). */
  exchange(req: ExchangeRequest, opts?: CallOptions): Promise<IssuedToken>;
  /**
   * The runtime's shared trace → token cache, so that an agent on another node
   * can find the token that arrived inbound at an app. Undefined when the
   * profile has none (rfc): delegation then works within one node only.
   */
  readonly sharedTraceCache?: {
    store(key: TraceTokenKey, token: string, opts?: CallOptions): Promise<void>;
    /** Resolves undefined when the runtime has no token for the key (404). */
    load(key: TraceTokenKey, opts?: CallOptions): Promise<string | undefined>;
  };
  /** A cheap reachability probe for readiness. */
  ping(opts?: CallOptions): Promise<void>;
  close(): Promise<void>;
}
