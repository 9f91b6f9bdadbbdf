// What the ext_authz transport needs from the authorization flow.
import type { Decision } from '../../policy/types.js';
import type { CheckInput } from './check-request.js';

/** Facts about one answered Check, for metrics, the decision log and spans. */
export interface CheckOutcome {
  readonly decision: Decision;
  readonly direction: 'inbound' | 'outbound' | 'both' | 'none';
  readonly traceId?: string;
  readonly protocol?: string;
  readonly mcpMethod?: string;
  readonly tool?: string;
  readonly a2aMethod?: string;
  readonly source?: string;
  readonly destination?: string;
  /** Runtime calls this Check made (0 for cache hits and protocol violations). */
  readonly runtimeCalls: number;
  /** e.g. "introspection:hit", "exchange:miss". */
  readonly cache?: string;
}

export interface Authorizer {
  /**
   * Decides one Check. Must resolve (never reject) for every expected failure,
   * mapping it to a deny; `signal` aborts when the Check's deadline passes.
   */
  authorize(input: CheckInput, signal: AbortSignal): Promise<CheckOutcome>;
}

/** Observes every answered Check (metrics, decision log, telemetry); it never changes the answer. */
export type CheckObserver = (
  input: CheckInput | undefined,
  outcome: CheckOutcome,
  elapsedMs: number,
  /** performance.now() when the answer was handed to gRPC (arrival = answeredAt − elapsedMs). */
  answeredAt: number,
) => void;
