// The OTLP exporters (OpenTelemetry's own; no hand-written OTLP) and the
// standard OTEL_* tuning variables, read once at start with errors that name
// the variable.
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ConfigError } from '../config/load.js';
import type { BatchLimits } from './span-pipeline.js';

export type OtlpProtocol = 'grpc' | 'http/protobuf';

/** In-flight exports at most; beyond it a batch fails at once (and is counted). */
const CONCURRENT_EXPORTS = 4;

export interface OtlpExporterOptions {
  readonly endpoint: string;
  readonly protocol: OtlpProtocol;
  readonly timeoutMillis: number;
  /** The endpoint already names the traces signal (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
  readonly signalUrl?: boolean;
}

export function otlpTraceExporter(o: OtlpExporterOptions): SpanExporter {
  const common = { timeoutMillis: o.timeoutMillis, concurrencyLimit: CONCURRENT_EXPORTS };
  if (o.protocol === 'grpc') {
    // http:// → plaintext, https:// → TLS (the exporter's rule); the path is ignored.
    return new GrpcTraceExporter({ url: o.endpoint, ...common });
  }
  return new ProtoTraceExporter({ url: o.signalUrl ? o.endpoint : tracesUrl(o.endpoint), ...common });
}

/**
 * OTLP/HTTP: the configured endpoint is a base URL and traces go to
 * `<base>/v1/traces`, as with OTEL_EXPORTER_OTLP_ENDPOINT (OTLP exporter
 * spec, "Endpoint URLs for OTLP/HTTP"). An endpoint that already ends in
 * `/v1/traces` is taken as is.
 */
export function tracesUrl(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new ConfigError('otlpEndpoint', `not an absolute URL: ${JSON.stringify(endpoint)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError('otlpEndpoint', `OTLP over http/protobuf needs an http(s) URL, got ${u.protocol}`);
  }
  const path = u.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/v1/traces')) u.pathname = `${path}/v1/traces`;
  return u.toString();
}

/** Batch and export limits: OpenTelemetry's defaults, overridable by its standard variables. */
export function telemetryTuning(env: Readonly<Record<string, string | undefined>>): BatchLimits {
  const maxQueueSize = positiveInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048);
  return {
    maxQueueSize,
    maxExportBatchSize: Math.min(positiveInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512), maxQueueSize),
    scheduledDelayMillis: positiveInt(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000),
    exportTimeoutMillis: positiveInt(
      env,
      env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT
        ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'
        : 'OTEL_EXPORTER_OTLP_TIMEOUT',
      10_000,
    ),
  };
}

function positiveInt(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1e9) {
    throw new ConfigError(name, `expected a whole number from 1 to 1000000000, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}
