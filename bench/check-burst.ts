// Single-flight under a burst: `burst` concurrent Checks over N unique tokens
// (inbound) or N unique traces (outbound) at a cold cache, counting the
// reference runtime's introspect and exchange calls per unique token.
import { HOST, IP, mcpCall, newTraceId, traceparent, type World } from '../test/support/casa-world.js';
import { inboundCall, mintT3s } from './check-tokens.js';

const pad = (s: string | number, n: number) => String(s).padStart(n);

export interface BurstRow {
  readonly path: string;
  readonly unique: number;
  readonly checks: number;
  readonly allowed: number;
  readonly introspect: number;
  readonly exchange: number;
  readonly wallMs: number;
}

/** `burst` concurrent inbound Checks over N fresh T3s (a cold introspection cache for each). */
export async function inboundBurst(w: World, n: number, burst: number): Promise<BurstRow> {
  const tokens = await mintT3s(w, n);
  const trace = newTraceId();
  w.runtime.resetCalls();
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: burst }, (_, i) =>
      w.check(IP.outside, IP.files, inboundCall(tokens[i % n] as string, trace), 60_000),
    ),
  );
  return {
    path: 'inbound T3 → mcp_server',
    unique: n,
    checks: burst,
    allowed: results.filter((r) => r.allowed).length,
    introspect: w.runtime.calls('introspect'),
    exchange: w.runtime.calls('token_exchange'),
    wallMs: performance.now() - t0,
  };
}

/** `burst` concurrent outbound tools/call Checks (planner → files) over N traces the planner was called in. */
export async function outboundBurst(w: World, n: number, burst: number): Promise<BurstRow> {
  const traces = Array.from({ length: n }, () => newTraceId());
  for (const trace of traces) {
    const r = await w.check(IP.web, IP.planner, {
      path: '/',
      host: HOST.planner,
      headers: { traceparent: traceparent(trace), 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Plan a trip and read my itinerary file' }),
    });
    if (!r.allowed) throw new Error(`setup web → planner denied: ${r.body}`);
  }
  w.runtime.resetCalls();
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: burst }, (_, i) =>
      w.check(
        IP.planner,
        IP.files,
        {
          path: '/mcp',
          host: HOST.files,
          headers: { traceparent: traceparent(traces[i % n] as string), 'content-type': 'application/json' },
          body: mcpCall('read_file'),
        },
        60_000,
      ),
    ),
  );
  return {
    path: 'outbound agent → mcp_server',
    unique: n,
    checks: burst,
    allowed: results.filter((r) => r.allowed).length,
    introspect: w.runtime.calls('introspect'),
    exchange: w.runtime.calls('token_exchange'),
    wallMs: performance.now() - t0,
  };
}

export function printBursts(burst: number, rows: readonly BurstRow[]): void {
  console.log(
    `\nruntime calls per unique token under ${burst} concurrent Checks (cold cache, single-flight)`,
  );
  console.log(
    'path                        | unique | checks | allowed | introspect /unique | exchange /unique | wall ms',
  );
  for (const r of rows) {
    const per = (c: number) => `${pad(c, 5)} ${pad((c / r.unique).toFixed(2), 6)}`;
    console.log(
      `${r.path.padEnd(27)} | ${pad(r.unique, 6)} | ${pad(r.checks, 6)} | ${pad(r.allowed, 7)} | ${per(r.introspect).padStart(18)} | ${per(r.exchange).padStart(16)} | ${pad(r.wallMs.toFixed(0), 7)}`,
    );
  }
}
