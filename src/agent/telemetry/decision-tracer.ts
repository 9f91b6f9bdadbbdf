// Turns answered Checks into spans. The authorizer reports its I/O steps
// through the StepTelemetry port while the Check runs (two clock reads per
// step, nothing else); every span is built after the answer went to Envoy,
// with explicit start and end times, so tracing never sits on the Check's
// path. The decision span starts when the Check arrived and ends when it was
// answered; each runtime step is its child.
import {
  type Context,
  type HrTime,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { addHrTimes, millisToHrTime, TraceState } from '@opentelemetry/core';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';
import type { Endpoint } from '../../policy/types.js';
import type { StepObserver, StepTelemetry, TracedStep } from '../authz/authorizer.js';
import type { CheckOutcome } from '../authz/authorizer-port.js';
import type { CheckInput } from '../authz/check-request.js';
import {
  checkAttributes,
  checkSpanName,
  isFailure,
  type StepRecord,
  spanParent,
  stepAttributes,
  stepReachedRuntime,
  stepSpanName,
} from './check-span.js';

/** The ids of a recorded decision span, for log correlation. */
export interface SpanIds {
  readonly traceId: string;
  readonly spanId: string;
}

/** A Check's steps can only be this many; more would be a loop, not a Check. */
const MAX_STEPS = 16;

interface CheckRecord {
  readonly source: Endpoint | undefined;
  readonly destination: Endpoint | undefined;
  readonly steps: StepRecord[];
}

export class DecisionTracer implements StepTelemetry {
  // Keyed by the Check's own input object: an entry lives exactly as long as
  // the Check (a late step of a Check answered on its deadline is collected
  // with it), so nothing here can grow.
  readonly #checks = new WeakMap<CheckInput, CheckRecord>();

  constructor(
    private readonly tracer: Tracer,
    private readonly ids: PresetIdGenerator,
  ) {}

  begin(input: CheckInput, source: Endpoint | undefined, destination: Endpoint | undefined): StepObserver {
    const rec: CheckRecord = { source, destination, steps: [] };
    this.#checks.set(input, rec);
    return {
      start: (op: TracedStep) => {
        const start = performance.now();
        return (result) => {
          if (rec.steps.length < MAX_STEPS) rec.steps.push({ op, start, end: performance.now(), result });
        };
      },
    };
  }

  /**
   * Records one answered Check as a span tree. Call right after the answer
   * was sent; `elapsedMs` is the time from arrival to answer, `answeredAt`
   * the performance.now() of the answer (default: now). Never throws.
   */
  record(
    input: CheckInput | undefined,
    outcome: CheckOutcome,
    elapsedMs: number,
    answeredAt: number = performance.now(),
  ): SpanIds | undefined {
    try {
      return this.#record(input, outcome, elapsedMs, answeredAt);
    } catch {
      // Telemetry must never affect a Check; a span we cannot build is lost.
      return undefined;
    } finally {
      this.ids.clear();
    }
  }

  #record(
    input: CheckInput | undefined,
    outcome: CheckOutcome,
    elapsedMs: number,
    answeredAt: number,
  ): SpanIds {
    const at = wallClock();
    const arrivedAt = answeredAt - Math.max(0, elapsedMs);
    const rec = input ? this.#checks.get(input) : undefined;
    if (input) this.#checks.delete(input);
    const steps = rec?.steps ?? [];
    const parent = spanParent(input, outcome);
    let ctx: Context = ROOT_CONTEXT;
    if (parent.kind === 'remote') {
      const sc: SpanContext = {
        traceId: parent.traceId,
        spanId: parent.spanId,
        traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        isRemote: true,
        ...(parent.traceState ? { traceState: new TraceState(parent.traceState) } : {}),
      };
      ctx = trace.setSpanContext(ROOT_CONTEXT, sc);
    } else if (parent.traceId !== undefined) {
      this.ids.preset(parent.traceId, parent.spanId);
    }
    const sides = { source: rec?.source, destination: rec?.destination };
    const span = this.tracer.startSpan(
      checkSpanName(outcome),
      {
        kind: SpanKind.SERVER,
        startTime: at(arrivedAt),
        attributes: checkAttributes(input, outcome, sides, parent, steps),
      },
      ctx,
    );
    this.ids.clear();
    const d = outcome.decision;
    if (d.kind === 'deny' && isFailure(d.reason))
      span.setStatus({ code: SpanStatusCode.ERROR, message: d.reason });
    const ids = { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
    // Asked before end(): an ended span never records. Unsampled (the caller's
    // traceparent said so), the steps would not be recorded either.
    const recording = span.isRecording();
    // The decision ends first so a console printer shows it above its steps.
    span.end(at(answeredAt));
    if (!recording) return ids;
    const inDecision = trace.setSpan(ROOT_CONTEXT, span);
    for (const s of steps) {
      // Only runtime calls become spans: a step answered from a cache is
      // already named by the decision's casa.cache, and a span per cache hit
      // would double the spans (and their cost) of the commonest Check.
      if (!stepReachedRuntime(s)) continue;
      const child = this.tracer.startSpan(
        stepSpanName(s.op),
        {
          kind: SpanKind.CLIENT,
          startTime: at(s.start),
          attributes: stepAttributes(s),
        },
        inDecision,
      );
      if (s.result.outcome !== 'ok')
        child.setStatus({ code: SpanStatusCode.ERROR, message: s.result.outcome });
      child.end(at(s.end));
    }
    return ids;
  }
}

/**
 * Maps performance.now() timestamps onto the wall clock with one correction
 * for a whole span tree. Handing the SDK plain performance timestamps would
 * let it correct each span by its own Date.now() reading (millisecond
 * resolution), so a child could appear to start before its parent.
 */
function wallClock(): (perfMs: number) => HrTime {
  const base = millisToHrTime(Date.now() - performance.now());
  return (perfMs) => addHrTimes(base, millisToHrTime(perfMs));
}

/**
 * Random W3C ids, except when a Check's span must take ids the agent already
 * minted for the request: `preset` makes the very next root span use them.
 * Span creation is synchronous, so nothing can come in between.
 */
export class PresetIdGenerator implements IdGenerator {
  #traceId: string | undefined;
  #spanId: string | undefined;

  constructor(private readonly random: IdGenerator) {}

  preset(traceId: string, spanId?: string): void {
    this.#traceId = traceId;
    this.#spanId = spanId;
  }

  clear(): void {
    this.#traceId = undefined;
    this.#spanId = undefined;
  }

  generateTraceId(): string {
    const t = this.#traceId;
    this.#traceId = undefined;
    return t ?? this.random.generateTraceId();
  }

  generateSpanId(): string {
    const s = this.#spanId;
    this.#spanId = undefined;
    return s ?? this.random.generateSpanId();
  }
}
