// The authorization flow around the pure decision (src/policy): resolves who
// is talking to whom, runs the plan's I/O steps — trace-token lookup, T1
// issue, token exchange, introspection — and maps every failure of those steps
// to a deny with a reason code. Nothing here decides policy; it only executes.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  allow,
  checkClaims,
  type InboundStep,
  type OutboundStep,
  type Plan,
  type PolicyConfig,
  plan,
  type TraceSubject,
  whenNoSubjectToken,
} from '../../policy/index.js';
import { type Decision, type Deny, deny, type Endpoint } from '../../policy/types.js';
import type { WorkloadDirectory } from '../inventory/directory.js';
import type { ExchangeCache } from '../tokens/exchange-cache.js';
import type { CacheSource, IntrospectionCache } from '../tokens/introspection-cache.js';
import {
  type RuntimeClient,
  RuntimeError,
  type RuntimeErrorKind,
  type TraceTokenKey,
} from '../tokens/runtime-client.js';
import type { RememberOutcome, TraceTokenStore } from '../tokens/trace-token-store.js';
import type { Authorizer, CheckOutcome } from './authorizer-port.js';
import type { CheckInput } from './check-request.js';
import { type Endpoints, resolveCilium } from './endpoints.js';

export interface FlowAuthorizerOptions {
  readonly directory: WorkloadDirectory;
  readonly policy: () => PolicyConfig;
  readonly runtime: Pick<RuntimeClient, 'issueUserToken'>;
  readonly introspection: IntrospectionCache;
  readonly exchanges: ExchangeCache;
  readonly traces: TraceTokenStore;
  /** Who the two sides are; defaults to the Cilium mapping (IPs, then Host). */
  readonly resolve?: (input: CheckInput, directory: WorkloadDirectory) => Endpoints;
  readonly now?: () => number;
  /** Fresh W3C ids and LLM call ids; injectable for tests. */
  readonly ids?: () => { traceId: string; spanId: string; llmCallId: string };
  /** Counts shared-trace-cache write failures (the request goes on). */
  readonly onRemember?: (outcome: RememberOutcome) => void;
  /** Observes each Check's I/O steps (decision telemetry); unset costs nothing. */
  readonly telemetry?: StepTelemetry;
}

// --- telemetry port (src/agent/telemetry implements it; no OpenTelemetry here) ---

/** The I/O steps of a Check, as telemetry names them. */
export type TracedStep = StepOp | 'trace_store';

export interface StepEnd {
  /** `ok`, the RuntimeError kind of a failed step, or `error` for anything else. */
  readonly outcome: 'ok' | RuntimeErrorKind | 'error';
  /** Where the answer came from: a cache source, or the trace store's outcome. */
  readonly cache?: string;
}

/** One Check's step observer: `start` returns the function that ends the step (called once). */
export interface StepObserver {
  start(op: TracedStep): (end: StepEnd) => void;
}

export interface StepTelemetry {
  /** Called once per Check, once both sides are resolved; undefined observes nothing. */
  begin(
    input: CheckInput,
    source: Endpoint | undefined,
    destination: Endpoint | undefined,
  ): StepObserver | undefined;
}

// --- end telemetry port ---

/** Per-Check facts gathered while executing the plan. */
interface Tally {
  runtimeCalls: number;
  cache: string[];
  readonly steps?: StepObserver | undefined;
}

export class FlowAuthorizer implements Authorizer {
  private readonly now: () => number;
  private readonly ids: () => { traceId: string; spanId: string; llmCallId: string };
  private readonly resolve: (input: CheckInput, directory: WorkloadDirectory) => Endpoints;

  constructor(private readonly o: FlowAuthorizerOptions) {
    this.now = o.now ?? Date.now;
    this.ids = o.ids ?? freshIds;
    this.resolve = o.resolve ?? resolveCilium;
  }

  async authorize(input: CheckInput, signal: AbortSignal): Promise<CheckOutcome> {
    const { source, destination, only } = this.resolve(input, this.o.directory);
    const tally: Tally = {
      runtimeCalls: 0,
      cache: [],
      steps: this.o.telemetry?.begin(input, source, destination),
    };
    const config = this.o.policy();
    const p = plan({ request: input, source, destination, config, fresh: this.ids(), only });
    if (p.kind === 'deny') return this.outcome(p, undefined, source, destination, tally);
    let decision: Decision;
    try {
      decision = await this.execute(p, input, config, signal, tally);
    } catch (err) {
      decision = failureToDeny(err, signal);
    }
    return this.outcome(decision, p, source, destination, tally);
  }

  private async execute(
    p: Plan,
    input: CheckInput,
    config: PolicyConfig,
    signal: AbortSignal,
    tally: Tally,
  ): Promise<Decision> {
    let outboundToken: string | undefined;
    if (p.outbound) {
      const r = await this.outbound(p, p.outbound, input, config, signal, tally);
      if (typeof r !== 'string' && r !== undefined) return r;
      outboundToken = r;
    }
    if (p.inbound) {
      const d = await this.inbound(p.inbound, outboundToken, signal, tally);
      if (d) return d;
    }
    return allow(p, { outboundToken });
  }

  /** Returns the token to inject, undefined when none is needed, or a deny. */
  private async outbound(
    p: Plan,
    step: OutboundStep,
    input: CheckInput,
    config: PolicyConfig,
    signal: AbortSignal,
    tally: Tally,
  ): Promise<string | undefined | Deny> {
    if (step.kind === 'strip' || step.kind === 'passthrough') return undefined;
    let subject = await this.findTraceToken(step.subject, signal, tally);
    if (subject === undefined) {
      const next = whenNoSubjectToken(p, input, config);
      if (next.kind === 'deny') return next;
      // The first request of a trace from a client: a T1 for the user's prompt.
      const creds = this.o.directory.credentials(next.app);
      if (!creds) return missingCredentials(next.app);
      tally.runtimeCalls++;
      const t1 = await runStep('issue', tally.steps, () =>
        this.o.runtime.issueUserToken(
          { appId: next.app.appId, credentials: creds, userInput: next.userInput },
          { signal },
        ),
      );
      subject = t1.accessToken;
      await this.remember(step.subject, subject, t1.expiresAt, signal, tally);
    }
    if (step.kind === 'llm') return undefined;

    const target = step.target;
    // CASA exchanges with the callee's app id and credentials: the callee
    // becomes the actor of the new token (casa-research.md §1.8).
    const creds = this.o.directory.credentials(target.destination);
    if (!creds) return missingCredentials(target.destination);
    const ex = await runStep(
      'exchange',
      tally.steps,
      () =>
        this.o.exchanges.exchange(
          {
            traceId: step.subject.traceId,
            sourceAppId: step.source.appId,
            destinationAppId: target.destination.appId,
          },
          {
            appId: target.destination.appId,
            credentials: creds,
            subjectToken: subject,
            mcpServerUrl: target.mcpServerUrl,
            audienceAppId: target.destination.appId,
            tools: target.tools,
          },
          { signal },
        ),
      sourceOf,
    );
    this.count(tally, 'exchange', ex.source);
    return ex.token.accessToken;
  }

  private async inbound(
    step: InboundStep,
    outboundToken: string | undefined,
    signal: AbortSignal,
    tally: Tally,
  ): Promise<Deny | undefined> {
    if (step.kind === 'public_card') return undefined;
    if (step.kind === 'entry_point') {
      const creds = this.o.directory.credentials(step.destination);
      if (!creds) return missingCredentials(step.destination);
      tally.runtimeCalls++;
      const t1 = await runStep('issue', tally.steps, () =>
        this.o.runtime.issueUserToken(
          { appId: step.destination.appId, credentials: creds, userInput: step.userInput },
          { signal },
        ),
      );
      await this.remember(step.remember, t1.accessToken, t1.expiresAt, signal, tally);
      return undefined;
    }
    const token = step.token.from === 'request' ? step.token.value : outboundToken;
    if (token === undefined) return deny('internal_error', 'no token to verify');
    const found = await runStep(
      'introspect',
      tally.steps,
      () => this.o.introspection.lookup(token, step.requirement.tools, { signal }),
      sourceOf,
    );
    this.count(tally, 'introspection', found.source);
    const d = checkClaims(step.requirement, found.claims, this.now());
    if (d) return d;
    if (step.remember) await this.remember(step.remember, token, found.claims.exp, signal, tally);
    return undefined;
  }

  private async findTraceToken(
    subject: TraceSubject,
    signal: AbortSignal,
    tally: Tally,
  ): Promise<string | undefined> {
    const found = await runStep(
      'trace_load',
      tally.steps,
      () => this.o.traces.find(traceKey(subject), { signal }),
      traceSourceOf,
    );
    if (found === undefined && this.o.traces.sharesAcrossNodes) tally.runtimeCalls++;
    if (found?.source === 'shared') tally.runtimeCalls++;
    tally.cache.push(`trace:${found ? found.source : 'miss'}`);
    return found?.token;
  }

  private async remember(
    subject: TraceSubject,
    token: string,
    expiresAt: number | undefined,
    signal: AbortSignal,
    tally: Tally,
  ): Promise<void> {
    const end = tally.steps?.start('trace_store');
    const outcome = await this.o.traces.remember(traceKey(subject), token, { expiresAt, signal });
    end?.({ outcome: outcome === 'shared_failed' ? 'error' : 'ok', cache: outcome });
    if (outcome === 'shared' || outcome === 'shared_failed') tally.runtimeCalls++;
    this.o.onRemember?.(outcome);
  }

  private count(tally: Tally, cache: string, source: CacheSource): void {
    if (source === 'miss') tally.runtimeCalls++;
    tally.cache.push(`${cache}:${source}`);
  }

  private outcome(
    decision: Decision,
    p: Plan | undefined,
    source: Endpoint | undefined,
    destination: Endpoint | undefined,
    tally: Tally,
  ): CheckOutcome {
    const cls = p?.classification;
    return {
      decision,
      direction:
        p?.direction ??
        (source && destination ? 'both' : source ? 'outbound' : destination ? 'inbound' : 'none'),
      traceId: p?.traceId,
      protocol: cls?.protocol,
      mcpMethod: cls?.mcp?.methods[0],
      tool: cls?.mcp?.tools[0],
      a2aMethod: cls?.a2a?.method,
      source: source ? describe(source) : undefined,
      destination: destination ? describe(destination) : undefined,
      runtimeCalls: tally.runtimeCalls,
      cache: tally.cache.length > 0 ? tally.cache.join(',') : undefined,
    };
  }
}

/** The runtime's shared-cache key of the token that arrived at `app` in a trace (casa-research.md §1.5). */
export function traceKey(subject: TraceSubject): TraceTokenKey {
  const app = subject.app;
  return {
    namespace: app.mas.namespace,
    traceId: subject.traceId,
    // CASA keys by the app's url_host (baseUrl.host, "host:port").
    appHost: app.app.baseUrl?.host ?? `${app.mas.name}.${app.app.name}`,
    appType: app.type,
  };
}

function describe(e: Endpoint): string {
  const where = e.kind === 'pod' ? `${e.namespace}/${e.podName}` : `${e.namespace}/svc/${e.serviceName}`;
  return `${e.mas.namespace}/${e.mas.name}/${e.app.name} (${e.type}, ${where})`;
}

function missingCredentials(app: Endpoint): Deny {
  return deny(
    'missing_credentials',
    `no credentials for ${app.type} ${app.mas.namespace}/${app.app.name}: Secret ${app.appId}-oauth2-credentials is missing or incomplete`,
  );
}

type StepOp = 'introspect' | 'exchange' | 'issue' | 'trace_load';

/** A runtime failure, tagged with the step it broke. */
class StepFailure extends Error {
  constructor(
    readonly op: StepOp,
    override readonly cause: RuntimeError,
  ) {
    super(`${op}: ${cause.kind}`);
  }
}

// Where a step's answer came from, for telemetry. Module-level so that a
// Check with telemetry off allocates no closure for them.
const sourceOf = (r: { readonly source: string }): string => r.source;
const traceSourceOf = (r: { readonly source: string } | undefined): string => (r ? r.source : 'miss');

async function runStep<T>(
  op: StepOp,
  steps: StepObserver | undefined,
  fn: () => Promise<T>,
  cache?: (result: T) => string,
): Promise<T> {
  const end = steps?.start(op);
  try {
    const r = await fn();
    end?.({ outcome: 'ok', cache: cache?.(r) });
    return r;
  } catch (err) {
    end?.({ outcome: err instanceof RuntimeError ? err.kind : 'error' });
    if (err instanceof RuntimeError) throw new StepFailure(op, err);
    throw err;
  }
}

const OP_TEXT: Record<StepOp, string> = {
  introspect: 'introspection',
  exchange: 'token exchange',
  issue: 'user token',
  trace_load: 'trace token lookup',
};

/** Every failure of an I/O step, mapped to its reason code. Fail closed. */
export function failureToDeny(err: unknown, signal: AbortSignal): Deny {
  if (signal.aborted)
    return deny('deadline_exceeded', 'the Check deadline passed while waiting for the runtime');
  if (!(err instanceof StepFailure)) return deny('internal_error', 'authorization failed unexpectedly');
  const op = OP_TEXT[err.op];
  const why = err.cause.runtimeReason ? ` (${err.cause.runtimeReason})` : '';
  switch (err.cause.kind) {
    case 'unavailable':
      return deny('runtime_unavailable', `CASA runtime unreachable during ${op}`);
    case 'timeout':
      return deny('runtime_timeout', `CASA runtime did not answer in time during ${op}`);
    case 'overloaded':
      return deny('overloaded', `too many runtime calls waiting (${op})`);
    case 'bad_response':
      return deny('runtime_bad_response', `CASA runtime gave an unusable answer to ${op}`);
    case 'rejected':
      if (err.op === 'exchange') return deny('exchange_failed', `the runtime refused the ${op}${why}`);
      if (err.op === 'issue') return deny('token_issue_failed', `the runtime refused the ${op}${why}`);
      return deny('runtime_bad_response', `the runtime refused the ${op}${why}`);
  }
}

function freshIds(): { traceId: string; spanId: string; llmCallId: string } {
  const b = randomBytes(24);
  // All-zero ids are invalid W3C ids; 2^-128 odds, but never emit one.
  if (b.subarray(0, 16).every((x) => x === 0)) b[0] = 1;
  if (b.subarray(16).every((x) => x === 0)) b[16] = 1;
  return { traceId: b.toString('hex', 0, 16), spanId: b.toString('hex', 16, 24), llmCallId: randomUUID() };
}
