// `casa-agent dev --print-spans`: decision spans as short readable lines, so
// a newcomer sees the trace of the demo without running a collector. A
// SpanExporter like any other (fed by a SimpleSpanProcessor), so what it
// prints is exactly what an OTLP collector would receive.
import { SpanStatusCode } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR } from './check-span.js';

/** A span exporter that writes to a console; pass it to NodeAgent as `spanPrinter`. */
export type SpanPrinter = SpanExporter;

/**
 * Prints each decision span as one line (trace and span ids on a second), and
 * each runtime step under it:
 *
 *     ext_authz outbound ALLOW 4.1 ms  travel/web (client) → travel/planner (agent)  a2a message/send  runtime calls 3
 *       trace 4bf92f3577b34da6a3ce929d0e0e4736  span 00f067aa0ba902b7  parent b7ad6b7169203331
 *       ↳ casa issue 1.9 ms ok
 *       ↳ casa exchange 1.2 ms ok cache=miss
 */
export function consoleSpanPrinter(stream: NodeJS.WritableStream): SpanPrinter {
  return new ConsoleSpanPrinter(stream);
}

class ConsoleSpanPrinter implements SpanExporter {
  #closed = false;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.#closed) {
      done({ code: ExportResultCode.FAILED, error: new Error('span printer is shut down') });
      return;
    }
    let text = '';
    for (const s of spans) text += formatSpan(s);
    this.stream.write(text);
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {
    this.#closed = true;
  }

  async forceFlush(): Promise<void> {}
}

/** One span as console text (ends with a newline). */
export function formatSpan(s: ReadableSpan): string {
  const a = s.attributes;
  const ms = `${round(hrTimeToMilliseconds(s.duration))} ms`;
  if (a[ATTR.step] !== undefined) {
    const cache = a[ATTR.cache] !== undefined ? ` cache=${String(a[ATTR.cache])}` : '';
    return `  ↳ ${s.name} ${ms} ${String(a[ATTR.stepOutcome] ?? '')}${cache}\n`;
  }
  const parts: string[] = [s.name];
  const decision = String(a[ATTR.decision] ?? '').toUpperCase();
  if (a[ATTR.decision] === 'deny') {
    parts.push(`${decision} ${String(a[ATTR.denyStatus] ?? '')} ${String(a[ATTR.reason] ?? '')}`);
  } else if (decision) parts.push(decision);
  parts.push(ms);
  const line = [parts.join(' ')];
  line.push(`${side(a, 'source')} → ${side(a, 'destination')}`);
  const what = [a[ATTR.protocol], a[ATTR.mcpMethod], a[ATTR.mcpTool], a[ATTR.a2aMethod]]
    .filter((x) => x !== undefined)
    .map(String)
    .join(' ');
  if (what) line.push(what);
  line.push(`runtime calls ${String(a[ATTR.runtimeCalls] ?? 0)}`);
  if (a[ATTR.cache] !== undefined) line.push(`cache ${String(a[ATTR.cache])}`);
  const ctx = s.spanContext();
  const parent = s.parentSpanContext?.spanId;
  let out = `${line.join('  ')}\n  trace ${ctx.traceId}  span ${ctx.spanId}`;
  out += parent ? `  parent ${parent}` : '  (root)';
  if (a[ATTR.traceMinted] === true) out += '  trace started here';
  if (a[ATTR.decision] === 'deny' && a[ATTR.denyMessage] !== undefined)
    out += `\n  ${String(a[ATTR.denyMessage])}`;
  if (s.status.code === SpanStatusCode.ERROR) out += '  [error]';
  return `${out}\n`;
}

function side(a: ReadableSpan['attributes'], which: 'source' | 'destination'): string {
  const app = a[`casa.${which}.app`];
  const mas = a[`casa.${which}.mas`];
  const type = a[`casa.${which}.type`];
  if (app === undefined) {
    const ip = a[`${which}.address`];
    return ip === undefined ? 'unmanaged' : `${String(ip)} (unmanaged)`;
  }
  const ns = typeof mas === 'string' ? mas.split('/')[0] : '';
  return `${ns}/${String(app)} (${String(type)})`;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
