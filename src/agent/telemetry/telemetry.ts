// Decision telemetry for one node agent: a tracer provider of its own (never
// registered as the process-global one), an OTLP exporter (gRPC or
// HTTP/protobuf) behind a bounded, drop-counting batch processor, and
// optionally a console printer for `casa-agent dev`. Off unless an endpoint or
// a printer is given.

import { defaultResource, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  RandomIdGenerator,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { SpanPrinter } from './console-printer.js';
import { DecisionTracer, PresetIdGenerator } from './decision-tracer.js';
import { type OtlpProtocol, otlpTraceExporter, telemetryTuning } from './otlp-exporter.js';
import { CountingBatchProcessor, type DropReason } from './span-pipeline.js';

export const DEFAULT_SERVICE_NAME = 'casa-node-agent';
const SCOPE = 'casa-node-agent/authz';

export interface TelemetryOptions {
  /** OTLP endpoint (`--otlp-endpoint` or OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT); no OTLP export when unset. */
  readonly endpoint?: string;
  /** The endpoint is a full traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): used as is over HTTP. */
  readonly tracesUrl?: boolean;
  readonly protocol: OtlpProtocol;
  /** Console printer (`casa-agent dev --print-spans`). */
  readonly printer?: SpanPrinter;
  readonly serviceVersion: string;
  readonly nodeName?: string;
  readonly podName?: string;
  /** OTEL_* variables (default: the process environment, as every OpenTelemetry SDK reads them). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** Counts lost spans (casa_otel_spans_dropped_total). */
  readonly onDrop: (count: number, reason: DropReason) => void;
}

export interface Telemetry {
  readonly tracer: DecisionTracer;
  /** Where spans go, for the start-up log line. */
  readonly target: string;
  /** Spans waiting for the collector now. */
  readonly queued: number;
  /** Exports everything queued now (tests, dev). */
  forceFlush(): Promise<void>;
  /** Flushes for at most `deadlineMs`, then stops; what is still queued is counted as dropped. */
  shutdown(deadlineMs: number): Promise<void>;
}

/** Builds the agent's decision telemetry, or undefined when neither OTLP nor a printer is configured. */
export function createTelemetry(o: TelemetryOptions): Telemetry | undefined {
  const env = o.env ?? process.env;
  const endpoint = o.endpoint;
  if (!endpoint && !o.printer) return undefined;

  const processors: SpanProcessor[] = [];
  const drops = new DropLog(o.log, o.onDrop);
  let batch: CountingBatchProcessor | undefined;
  let target = 'console';
  if (endpoint) {
    const tuning = telemetryTuning(env);
    const exporter: SpanExporter = otlpTraceExporter({
      endpoint,
      protocol: o.protocol,
      timeoutMillis: tuning.exportTimeoutMillis,
      signalUrl: o.tracesUrl === true,
    });
    batch = new CountingBatchProcessor(exporter, tuning, (n, why, err) => drops.add(n, why, err));
    processors.push(batch);
    target = `${o.protocol} ${endpoint}`;
  }
  // The printer writes as each span ends: a console has no collector to batch for.
  if (o.printer) processors.push(new SimpleSpanProcessor(o.printer));

  const ids = new PresetIdGenerator(new RandomIdGenerator());
  const provider = new BasicTracerProvider({
    resource: resource(o, env),
    idGenerator: ids,
    spanProcessors: processors,
  });
  const tracer = new DecisionTracer(provider.getTracer(SCOPE, o.serviceVersion), ids);
  return {
    tracer,
    target,
    get queued() {
      return batch?.queued ?? 0;
    },
    forceFlush: () => provider.forceFlush(),
    async shutdown(deadlineMs) {
      await Promise.allSettled([
        batch?.shutdown(deadlineMs),
        ...processors.filter((p) => p !== batch).map((p) => p.shutdown()),
      ]);
      drops.flush();
    },
  };
}

/**
 * service.name = OTEL_SERVICE_NAME, else a `service.name` in
 * OTEL_RESOURCE_ATTRIBUTES, else `casa-node-agent`; the node and pod say which
 * agent of the DaemonSet decided. OTEL_RESOURCE_ATTRIBUTES is parsed by the
 * SDK's own detector (which reads the process environment).
 */
function resource(o: TelemetryOptions, env: Readonly<Record<string, string | undefined>>) {
  const ours: Record<string, string> = {
    [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME,
    [ATTR_SERVICE_VERSION]: o.serviceVersion,
  };
  if (o.nodeName) ours['k8s.node.name'] = o.nodeName;
  if (o.podName) ours['k8s.pod.name'] = o.podName;
  const detected: Record<string, unknown> = { ...(envDetector.detect().attributes ?? {}) };
  const serviceName = env.OTEL_SERVICE_NAME?.trim();
  if (serviceName) detected[ATTR_SERVICE_NAME] = serviceName;
  return defaultResource()
    .merge(resourceFromAttributes(ours))
    .merge(resourceFromAttributes(detected as Parameters<typeof resourceFromAttributes>[0]));
}

/** Counts drops and says so in the log: the first at once, then at most once a minute. */
class DropLog {
  #pending = new Map<DropReason, number>();
  #lastError: string | undefined;
  #loggedAt = -Infinity;

  constructor(
    private readonly log: Logger,
    private readonly count: (n: number, reason: DropReason) => void,
  ) {}

  add(n: number, reason: DropReason, err?: Error): void {
    this.count(n, reason);
    this.#pending.set(reason, (this.#pending.get(reason) ?? 0) + n);
    if (err) this.#lastError = err.message;
    if (performance.now() - this.#loggedAt >= 60_000) this.flush();
  }

  flush(): void {
    if (this.#pending.size === 0) return;
    this.#loggedAt = performance.now();
    this.log.warn(
      {
        component: 'telemetry',
        dropped: Object.fromEntries(this.#pending),
        ...(this.#lastError ? { error: this.#lastError } : {}),
      },
      'decision spans dropped (collector slow, down or queue full); Checks are unaffected',
    );
    this.#pending.clear();
    this.#lastError = undefined;
  }
}
