// The path from an ended span to the collector: the SDK's BatchSpanProcessor
// (bounded queue, batches, export off the Check's path) with drop accounting
// around it. The SDK drops spans silently (a diag line, no counter we can
// read), so we observe the two ways a span is lost through its public
// interfaces only:
//  - queue full: a SpanProcessor in front of the batch processor mirrors its
//    queue length (+1 per span handed over, −n when the batch processor hands
//    a batch of n to the exporter, which it does synchronously as it takes
//    them off its queue) and refuses a span itself once the bound is reached,
//    so the batch processor never reaches its own silent drop;
//  - export failed: a SpanExporter between the batch processor and the OTLP
//    exporter counts every batch that ends in FAILED (refused, unreachable,
//    timed out, concurrency limit reached), or that never ends at all within
//    the export timeout plus a grace period.
// Memory stays bounded: at most `maxQueueSize` spans wait, plus the batches in
// flight (the OTLP exporter's own concurrency limit, each bounded by its
// timeout).
import { type Context, TraceFlags } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export type DropReason = 'queue_full' | 'export_failed' | 'shutdown';

export interface BatchLimits {
  /** Spans waiting for export, at most. */
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMillis: number;
  /** How long one export may take before the exporter gives up (its own timeout). */
  readonly exportTimeoutMillis: number;
}

export type DropObserver = (count: number, reason: DropReason, error?: Error) => void;

/** A BatchSpanProcessor whose every lost span is reported to `onDrop`. */
export class CountingBatchProcessor implements SpanProcessor {
  readonly #inner: BatchSpanProcessor;
  readonly #max: number;
  readonly #onDrop: DropObserver;
  #queued = 0;
  #closed = false;

  constructor(exporter: SpanExporter, limits: BatchLimits, onDrop: DropObserver) {
    this.#max = limits.maxQueueSize;
    this.#onDrop = onDrop;
    const counting = new CountingExporter(exporter, limits.exportTimeoutMillis + GRACE_MS, onDrop, (n) => {
      this.#queued = Math.max(0, this.#queued - n);
    });
    this.#inner = new BatchSpanProcessor(counting, {
      maxQueueSize: limits.maxQueueSize,
      maxExportBatchSize: Math.min(limits.maxExportBatchSize, limits.maxQueueSize),
      scheduledDelayMillis: limits.scheduledDelayMillis,
      // The processor's own deadline sits after the exporter's, so a slow
      // export ends as the exporter's FAILED (counted) rather than as a
      // processor timeout racing a still-running export.
      exportTimeoutMillis: limits.exportTimeoutMillis + GRACE_MS,
    });
  }

  /** Spans waiting in the queue now. */
  get queued(): number {
    return this.#queued;
  }

  onStart(_span: Span, _parent: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#closed) return;
    // Same filter as the batch processor: unsampled spans are never queued.
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#queued >= this.#max) {
      this.#onDrop(1, 'queue_full');
      return;
    }
    this.#queued++;
    this.#inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  /**
   * Flushes what is queued and stops. Spans still queued when `deadlineMs`
   * passes (collector slow or down) are counted as dropped.
   */
  async shutdown(deadlineMs = 30_000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let timer: NodeJS.Timeout | undefined;
    const flushed = this.#inner.shutdown().then(
      () => true,
      () => true,
    );
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineMs);
      timer.unref();
    });
    const done = await Promise.race([flushed, late]);
    clearTimeout(timer);
    if (!done && this.#queued > 0) {
      this.#onDrop(this.#queued, 'shutdown');
      this.#queued = 0;
    }
  }
}

/** Extra wait, beyond the exporter's timeout, before a silent export counts as lost. */
const GRACE_MS = 1_000;

/** Counts the spans of every batch that does not reach the collector. */
class CountingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly giveUpMs: number,
    private readonly onDrop: DropObserver,
    private readonly onTaken: (n: number) => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    // The batch processor took these off its queue just now.
    this.onTaken(spans.length);
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      this.onDrop(spans.length, 'export_failed', new Error(`export did not end within ${this.giveUpMs}ms`));
    }, this.giveUpMs);
    timer.unref();
    const finish = (result: ExportResult) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        if (result.code !== ExportResultCode.SUCCESS)
          this.onDrop(spans.length, 'export_failed', result.error);
      }
      done(result);
    };
    // The batch processor calls export synchronously from onEnd once a full
    // batch is queued, i.e. from inside the Check observer that ended the
    // span; serializing 512 spans there would hold that turn of the event
    // loop. The exporter runs on its own turn instead.
    setImmediate(() => {
      try {
        this.inner.export(spans, finish);
      } catch (err) {
        finish({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
      }
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
