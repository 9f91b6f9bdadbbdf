// What decision telemetry costs a Check, and whether a bad collector costs
// more. Five real NodeAgents (file inventory, each with its own reference
// runtime, as test/support/casa-world.ts wires them) in this process, the same
// load on each, one after the other, rounds rotating the order:
//
//   off            no endpoint (the default) — the baseline
//   healthy grpc   OTLP/gRPC to a real receiver in a child process
//   healthy http   OTLP/HTTP protobuf to the same child's HTTP receiver
//   down           OTLP/gRPC to a port nothing listens on
//   stalled        OTLP/gRPC to a TCP server that accepts and never answers
//
// The load is check-bench's: an inbound T3 tools/call to the MCP server on an
// introspection cache hit (one span per Check: the decision; a cache hit is
// no runtime call, so it has no child), driven by ghz (or the in-process generator without it).
// The telemetry settings are the defaults (queue 2048, batches of 512 every
// 5 s, 10 s export timeout). Printed: throughput and latency per target and
// their ratios to `off` (per round and the median), spans exported and
// dropped, and the heap retained after a full GC before and after each run
// (--expose-gc), to show a down or stalled collector holds no growing memory.
//
// Run: node --expose-gc <dist>/bench/telemetry-bench.js [--duration 4s]
//        [--concurrency 50] [--connections 1] [--rounds 3]
// (`--collector` is the child-process mode: the healthy OTLP receivers.)
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkRequestMessage } from '../test/support/authz-client.js';
import { IP, newTraceId, startWorld, type World } from '../test/support/casa-world.js';
import {
  downCollectorEndpoint,
  type StalledCollector,
  startOtlpReceiver,
  startStalledCollector,
} from '../test/support/otlp-receiver.js';
import { benchArgs } from './bench-args.js';
import { inboundCall, mintT3s } from './check-tokens.js';
import { findGhz, ghzLoad, inProcessLoad, type LoadResult } from './grpc-load.js';

interface Options {
  readonly durationMs: number;
  readonly concurrency: number;
  readonly connections: number;
  readonly rounds: number;
}

function parseOptions(argv: readonly string[]): Options {
  const { int, durationMs: duration } = benchArgs(argv);
  const durationMs = duration('4s');
  return {
    durationMs,
    concurrency: int('--concurrency', 50),
    connections: int('--connections', 1),
    rounds: int('--rounds', 3),
  };
}

// --- the healthy collector, in a child process (a collector is not the agent's process) ---

async function collectorChild(): Promise<void> {
  const grpc = await startOtlpReceiver('grpc', { keep: false });
  const http = await startOtlpReceiver('http/protobuf', { keep: false });
  process.stdout.write(`${JSON.stringify({ grpc: grpc.endpoint, http: http.endpoint })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'count')
      process.stdout.write(`${JSON.stringify({ grpc: grpc.received, http: http.received })}\n`);
  }
  await Promise.all([grpc.close(), http.close()]);
}

interface Collector {
  readonly grpc: string;
  readonly http: string;
  counts(): Promise<{ grpc: number; http: number }>;
  close(): Promise<void>;
}

async function startCollector(): Promise<Collector> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--enable-source-maps', fileURLToPath(import.meta.url), '--collector'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  if (!child.stdout || !child.stdin) throw new Error('collector child has no stdio');
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error('the collector child exited');
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  const at = (await next()) as { grpc: string; http: string };
  return {
    grpc: at.grpc,
    http: at.http,
    async counts() {
      child.stdin?.write('count\n');
      return (await next()) as { grpc: number; http: number };
    },
    async close() {
      child.stdin?.end();
      await once(child, 'exit');
    },
  };
}

// --- targets and runs ---

interface Target {
  readonly name: string;
  readonly world: World;
}

interface Run {
  readonly result: LoadResult;
  /** Heap retained after a full GC, before and after the run (MiB). */
  readonly heapBefore: number;
  readonly heapAfter: number;
  readonly queued: number;
}

function heapMiB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** A fresh T3 whose introspection result is cached now, and its CheckRequest. */
async function warmRequest(w: World): Promise<unknown> {
  const [token] = await mintT3s(w, 1);
  const call = inboundCall(token as string, newTraceId());
  const warm = await w.check(IP.outside, IP.files, call);
  if (!warm.allowed) throw new Error(`warm-up Check was denied: ${warm.body}`);
  return checkRequestMessage({
    ...call,
    source: { ip: IP.outside, port: 40000 },
    destination: { ip: IP.files, port: 8000 },
  });
}

async function dropped(w: World): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await w.agent.metrics.spansDropped.get()).values) {
    out[String(v.labels.reason)] = v.value;
  }
  return out;
}

const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '-');
const pad = (s: string | number, n: number) => String(s).padStart(n);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export async function runTelemetryBench(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const o = parseOptions(argv);
  if (!(globalThis as { gc?: unknown }).gc) console.log('(no --expose-gc: heap figures include garbage)');
  const collector = await startCollector();
  let stalled: StalledCollector | undefined;
  const targets: Target[] = [];
  const loadBefore = loadavg();
  try {
    stalled = await startStalledCollector();
    const down = await downCollectorEndpoint();
    const specs: [string, Record<string, string>][] = [
      ['off', {}],
      ['healthy grpc', { otlpEndpoint: collector.grpc, otlpProtocol: 'grpc' }],
      ['healthy http', { otlpEndpoint: collector.http, otlpProtocol: 'http/protobuf' }],
      ['down', { otlpEndpoint: down, otlpProtocol: 'grpc' }],
      ['stalled', { otlpEndpoint: stalled.endpoint, otlpProtocol: 'grpc' }],
    ];
    for (const [name, flags] of specs) targets.push({ name, world: await startWorld({ flags }) });

    const ghz = findGhz();
    const load = async (t: Target, durationMs: number): Promise<LoadResult> => {
      const request = await warmRequest(t.world);
      const target = t.world.agent.state().listen.authz;
      if (!target) throw new Error(`${t.name}: no ext_authz listener`);
      const spec = { target, request, concurrency: o.concurrency, durationMs, connections: o.connections };
      return ghz ? ghzLoad(ghz, spec) : inProcessLoad(spec);
    };

    // Unmeasured warm-up of every target (JIT, connections).
    const warmMs = Math.min(1_500, Math.ceil(o.durationMs / 3));
    for (const t of targets) await load(t, warmMs);
    const heapStart = heapMiB();

    const runs = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < o.rounds; round++) {
      // Rotate who goes first, so drift on the host favours no one.
      const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
      for (const t of order) {
        const heapBefore = heapMiB();
        const result = await load(t, o.durationMs);
        const queued = t.world.agent.telemetry?.queued ?? 0;
        const heapAfter = heapMiB();
        runs.get(t.name)?.push({ result, heapBefore, heapAfter, queued });
      }
    }

    const generator = runs.get('off')?.[0]?.result.generator ?? (ghz ? 'ghz' : 'in-process');
    console.log(
      `\next_authz Check with decision telemetry — load: ${generator}, concurrency ${o.concurrency}, ` +
        `${o.connections} connection(s), ${o.durationMs / 1000} s per target per round, ${o.rounds} round(s)`,
    );
    if (!ghz)
      console.log(
        '  (ghz is not built — run bash scripts/peers.sh; the in-process generator shares the event loop)',
      );
    console.log(
      'target        | round | checks  | checks/s | p50 ms | p99 ms | p99.9 ms | errors | queued | heap MiB before → after',
    );
    for (const t of targets) {
      (runs.get(t.name) ?? []).forEach((r, i) => {
        const x = r.result;
        console.log(
          `${t.name.padEnd(13)} | ${pad(i + 1, 5)} | ${pad(x.count, 7)} | ${pad(x.rps.toFixed(0), 8)} | ` +
            `${pad(f(x.p50Ms), 6)} | ${pad(f(x.p99Ms), 6)} | ${pad(f(x.p999Ms), 8)} | ${pad(x.errors, 6)} | ` +
            `${pad(r.queued, 6)} | ${f(r.heapBefore, 1)} → ${f(r.heapAfter, 1)}`,
        );
      });
    }
    const ratios = (name: string, base: string): string => {
      const rs = runs.get(name) ?? [];
      const bs = runs.get(base) ?? [];
      const q = (pick: (x: LoadResult) => number) =>
        f(median(rs.map((r, i) => pick(r.result) / pick((bs[i] as Run).result))), 2);
      return (
        `${name.padEnd(13)} | throughput ${q((x) => x.rps)}x | p50 ${q((x) => x.p50Ms)}x | ` +
        `p99 ${q((x) => x.p99Ms)}x | p99.9 ${q((x) => x.p999Ms)}x`
      );
    };
    console.log("\nratio to off (median of rounds; each round against the same round's off run)");
    for (const t of targets.slice(1)) console.log(ratios(t.name, 'off'));
    // The claim: a collector that is down or stalled costs the Check nothing more
    // than a healthy one speaking the same protocol (gRPC here).
    console.log("\nratio to a healthy gRPC collector (the collector's state alone)");
    for (const name of ['down', 'stalled']) console.log(ratios(name, 'healthy grpc'));

    console.log('\nspans (a cache-hit Check is one span: its decision; warm-ups included)');
    await Promise.all(targets.map((t) => t.world.agent.telemetry?.forceFlush().catch(() => {})));
    const counts = await collector.counts();
    for (const t of targets) {
      const checks = (runs.get(t.name) ?? []).reduce((a, r) => a + r.result.count, 0);
      const exported =
        t.name === 'healthy grpc' ? counts.grpc : t.name === 'healthy http' ? counts.http : undefined;
      const d = await dropped(t.world);
      console.log(
        `${t.name.padEnd(13)} | measured checks ${pad(checks, 7)} | exported ${pad(exported ?? '-', 7)} | ` +
          `dropped ${JSON.stringify(d)} | queued now ${t.world.agent.telemetry?.queued ?? 0}`,
      );
    }
    const heapEnd = heapMiB();
    const perTarget = (name: string) =>
      (runs.get(name) ?? []).map((r) => f(r.heapAfter - heapStart, 1)).join(', ');
    console.log(
      `\nheap retained after GC: ${f(heapStart, 1)} MiB after warm-up, ${f(heapEnd, 1)} MiB at the end ` +
        `(+${f(heapEnd - heapStart, 1)} MiB over ${o.rounds * targets.length} runs)`,
    );
    for (const t of targets)
      console.log(`  after each ${t.name} run, vs after warm-up: ${perTarget(t.name)} MiB`);
    console.log(
      `stalled collector: ${stalled.accepted} connection(s) accepted, never answered; ` +
        `host: ${cpus().length} CPUs, load average ${loadBefore[0]?.toFixed(1)} → ${loadavg()[0]?.toFixed(1)}`,
    );
  } finally {
    for (const t of targets) await t.world.stop();
    await stalled?.close();
    await collector.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const main = process.argv.includes('--collector') ? collectorChild() : runTelemetryBench();
  main.catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
