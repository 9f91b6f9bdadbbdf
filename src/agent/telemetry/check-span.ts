// What one answered Check looks like as a span: its parent (the request's own
// W3C trace) and its attributes. Pure functions over the Check's facts, so the
// rules are testable without an SDK. Attributes name the decision, never a
// secret: no header value other than the trace context is read, no body, no
// query string, no token.
import type { Attributes } from '@opentelemetry/api';
import { parseTraceparent } from '../../policy/traceparent.js';
import type { DenyReason, Endpoint } from '../../policy/types.js';
import type { StepEnd, TracedStep } from '../authz/authorizer.js';
import type { CheckOutcome } from '../authz/authorizer-port.js';
import type { CheckInput } from '../authz/check-request.js';

/** Attribute names: one place, an operator contract (dashboards query them). */
export const ATTR = {
  direction: 'casa.direction',
  decision: 'casa.decision',
  reason: 'casa.reason',
  denyStatus: 'casa.deny.status',
  denyMessage: 'casa.deny.message',
  traceMinted: 'casa.trace.minted',
  mas: 'casa.mas',
  sourceApp: 'casa.source.app',
  sourceType: 'casa.source.type',
  sourceMas: 'casa.source.mas',
  sourceWorkload: 'casa.source.workload',
  destinationApp: 'casa.destination.app',
  destinationType: 'casa.destination.type',
  destinationMas: 'casa.destination.mas',
  destinationWorkload: 'casa.destination.workload',
  protocol: 'casa.protocol',
  mcpMethod: 'casa.mcp.method',
  mcpTool: 'casa.mcp.tool',
  a2aMethod: 'casa.a2a.method',
  runtimeCalls: 'casa.runtime.calls',
  runtimeDuration: 'casa.runtime.duration_ms',
  cache: 'casa.cache',
  requestId: 'casa.request_id',
  step: 'casa.step',
  stepOutcome: 'casa.runtime.outcome',
} as const;

/** Where the decision span hangs in its trace. */
export type SpanParent =
  /** The request arrived with a valid `traceparent`: the span is its child. */
  | {
      readonly kind: 'remote';
      readonly traceId: string;
      readonly spanId: string;
      readonly sampled: boolean;
      readonly traceState?: string;
    }
  /**
   * No usable trace context arrived. When the agent minted one for the
   * request, the span is the root of that trace and carries the minted
   * parent-id as its own span id, so the app's next spans (whose parent is
   * that id) hang from the decision. Otherwise the ids are fresh.
   */
  | { readonly kind: 'root'; readonly traceId?: string; readonly spanId?: string };

export function spanParent(input: CheckInput | undefined, outcome: CheckOutcome): SpanParent {
  const arrived = input?.headers.get('traceparent');
  if (arrived !== undefined) {
    const p = parseTraceparent(arrived);
    if (p.ok) {
      const traceState = input?.headers.get('tracestate');
      return {
        kind: 'remote',
        traceId: p.context.traceId,
        spanId: p.context.parentId,
        // W3C trace-flags bit 0 is "sampled" (Trace Context §3.2.2.5).
        sampled: (Number.parseInt(p.context.flags, 16) & 1) === 1,
        ...(traceState ? { traceState } : {}),
      };
    }
  }
  const d = outcome.decision;
  if (d.kind === 'allow') {
    const minted = d.headersToSet.find((h) => h.key === 'traceparent');
    if (minted) {
      const p = parseTraceparent(minted.value);
      if (p.ok) return { kind: 'root', traceId: p.context.traceId, spanId: p.context.parentId };
    }
  }
  // A deny after the agent chose a fresh trace id: keep it, logs carry it.
  return outcome.traceId ? { kind: 'root', traceId: outcome.traceId } : { kind: 'root' };
}

/** Deny reasons that mean "something failed", not "policy said no": span status ERROR. */
const FAILURE_REASONS: ReadonlySet<DenyReason> = new Set<DenyReason>([
  'runtime_unavailable',
  'runtime_timeout',
  'runtime_bad_response',
  'deadline_exceeded',
  'overloaded',
  'internal_error',
]);

export function isFailure(reason: DenyReason): boolean {
  return FAILURE_REASONS.has(reason);
}

export interface StepRecord {
  readonly op: TracedStep;
  /** performance.now() at start and end. */
  readonly start: number;
  readonly end: number;
  readonly result: StepEnd;
}

/** The decision span's attributes. */
export function checkAttributes(
  input: CheckInput | undefined,
  outcome: CheckOutcome,
  sides: { readonly source?: Endpoint; readonly destination?: Endpoint },
  parent: SpanParent,
  steps: readonly StepRecord[],
): Attributes {
  const d = outcome.decision;
  const a: Attributes = {
    [ATTR.direction]: outcome.direction,
    [ATTR.decision]: d.kind,
    [ATTR.runtimeCalls]: outcome.runtimeCalls,
  };
  if (d.kind === 'deny') {
    a[ATTR.reason] = d.reason;
    a[ATTR.denyStatus] = d.status;
    a[ATTR.denyMessage] = d.message;
  }
  if (parent.kind === 'root' && parent.traceId !== undefined) a[ATTR.traceMinted] = true;
  const { source, destination } = sides;
  // The MAS whose rules applied: the callee's inbound, else the caller's.
  const owner = outcome.direction === 'inbound' ? destination : (source ?? destination);
  if (owner) a[ATTR.mas] = masName(owner);
  if (source) {
    a[ATTR.sourceApp] = source.app.name;
    a[ATTR.sourceType] = source.type;
    a[ATTR.sourceMas] = masName(source);
    a[ATTR.sourceWorkload] = workloadName(source);
  }
  if (destination) {
    a[ATTR.destinationApp] = destination.app.name;
    a[ATTR.destinationType] = destination.type;
    a[ATTR.destinationMas] = masName(destination);
    a[ATTR.destinationWorkload] = workloadName(destination);
  }
  if (outcome.protocol) a[ATTR.protocol] = outcome.protocol;
  if (outcome.mcpMethod) a[ATTR.mcpMethod] = outcome.mcpMethod;
  if (outcome.tool) a[ATTR.mcpTool] = outcome.tool;
  if (outcome.a2aMethod) a[ATTR.a2aMethod] = outcome.a2aMethod;
  if (outcome.cache) a[ATTR.cache] = outcome.cache;
  // Time spent waiting on the runtime (steps answered from a cache excluded);
  // the child spans say which call took how long.
  let waited = 0;
  let reached = false;
  for (const s of steps) {
    if (!stepReachedRuntime(s)) continue;
    reached = true;
    waited += s.end - s.start;
  }
  if (reached) a[ATTR.runtimeDuration] = Math.round(waited * 1000) / 1000;
  // The ext_authz call itself (OpenTelemetry RPC conventions).
  a['rpc.system'] = 'grpc';
  a['rpc.service'] = 'envoy.service.auth.v3.Authorization';
  a['rpc.method'] = 'Check';
  if (input) {
    // The request being authorized: method, host and path without the query
    // (which may carry credentials), peer addresses.
    a['http.request.method'] = input.method;
    a['url.path'] = pathOnly(input.path);
    if (input.host) a['server.address'] = input.host;
    if (input.source) a['source.address'] = input.source.ip;
    if (input.destination) a['destination.address'] = input.destination.ip;
    if (input.requestId) a[ATTR.requestId] = input.requestId;
  }
  return a;
}

/** The decision span's name: low cardinality, as OpenTelemetry asks. */
export function checkSpanName(outcome: CheckOutcome): string {
  return `ext_authz ${outcome.direction}`;
}

/** True when a step had to reach the runtime (a client call), false for cache hits. */
export function stepReachedRuntime(s: StepRecord): boolean {
  if (s.result.outcome !== 'ok') return true;
  const c = s.result.cache;
  switch (s.op) {
    case 'issue':
      return true;
    case 'introspect':
    case 'exchange':
      return c === 'miss';
    case 'trace_load':
      return c === 'shared' || c === 'miss';
    case 'trace_store':
      return c === 'shared' || c === 'shared_failed';
  }
}

export function stepSpanName(op: TracedStep): string {
  return `casa ${op}`;
}

export function stepAttributes(s: StepRecord): Attributes {
  const a: Attributes = {
    [ATTR.step]: s.op,
    [ATTR.stepOutcome]: s.result.outcome,
  };
  if (s.result.cache !== undefined) a[ATTR.cache] = s.result.cache;
  return a;
}

function masName(e: Endpoint): string {
  return `${e.mas.namespace}/${e.mas.name}`;
}

function workloadName(e: Endpoint): string {
  return e.kind === 'pod' ? `${e.namespace}/${e.podName}` : `${e.namespace}/svc/${e.serviceName}`;
}

function pathOnly(path: string): string {
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}
