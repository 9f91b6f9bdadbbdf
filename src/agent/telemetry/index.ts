// Decision telemetry: every answered Check as an OpenTelemetry span in the
// request's own trace, runtime steps as its children, exported over OTLP
// (README.md in this folder).
export { ATTR, checkAttributes, type SpanParent, type StepRecord, spanParent } from './check-span.js';
export { consoleSpanPrinter, formatSpan, type SpanPrinter } from './console-printer.js';
export { DecisionTracer, PresetIdGenerator, type SpanIds } from './decision-tracer.js';
export { type OtlpProtocol, otlpTraceExporter, telemetryTuning, tracesUrl } from './otlp-exporter.js';
export { type BatchLimits, CountingBatchProcessor, type DropReason } from './span-pipeline.js';
export { createTelemetry, DEFAULT_SERVICE_NAME, type Telemetry, type TelemetryOptions } from './telemetry.js';
