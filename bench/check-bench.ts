// ext_authz Check throughput and latency, and runtime calls under a burst.
//
// 1. Cache hits. The real NodeAgent (file inventory) and the reference CASA
//    runtime, as test/support/casa-world.ts wires them. One inbound Check
//    with a valid T3 for `read_file` to the MCP server warms the
//    introspection cache; then the same CheckRequest is driven by ghz for a
//    fixed time at a fixed concurrency — against the agent and against a bare
//    @grpc/grpc-js server registering the same Authorization service and
//    answering the agent's own CheckResponse as a constant. Same load, same
//    run, one after the other (after an unmeasured warm-up of both; rounds
//    alternate which goes first): the ratios are the agent's cost. Runtime
//    introspect calls during the agent's run prove every Check was a hit.
// 2. Single-flight. 1,000 concurrent Checks carrying N unique tokens (or N
//    unique traces, outbound) at a cold cache: runtime calls per unique token
//    should be 1.0.
//
// Run: node <dist>/bench/check-bench.js [--duration 8s] [--concurrency 50]
//        [--connections 1] [--rounds 3] [--burst 1000] [--uniques 1,10,100] [--no-json]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/agent/paths.js';
import { type CheckSpec, checkRequestMessage } from '../test/support/authz-client.js';
import { IP, newTraceId, startWorld, type World } from '../test/support/casa-world.js';
import { benchArgs } from './bench-args.js';
import { type BurstRow, inboundBurst, outboundBurst, printBursts } from './check-burst.js';
import { inboundCall, mintT3s } from './check-tokens.js';
import {
  findGhz,
  ghzLoad,
  inProcessLoad,
  type LoadResult,
  type LoadSpec,
  startBareAuthz,
} from './grpc-load.js';

interface Options {
  readonly durationMs: number;
  readonly concurrency: number;
  readonly connections: number;
  readonly rounds: number;
  readonly burst: number;
  readonly uniques: readonly number[];
  readonly json: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const { get, int, durationMs: duration } = benchArgs(argv);
  const durationMs = duration('8s');
  return {
    durationMs,
    concurrency: int('--concurrency', 50),
    connections: int('--connections', 1),
    rounds: int('--rounds', 3),
    burst: int('--burst', 1000),
    uniques: (get('--uniques') ?? '1,10,100').split(',').map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--uniques: bad count ${s}`);
      return n;
    }),
    json: !argv.includes('--no-json'),
  };
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
const pad = (s: string | number, n: number) => String(s).padStart(n);

interface HitRound {
  readonly bare: LoadResult;
  readonly agent: LoadResult;
  readonly introspectDuringAgent: number;
}

/** A token whose introspection result is cached now (it lives 30 s from this moment), and its CheckRequest. */
async function warmCall(
  w: World,
): Promise<{ request: unknown; call: Omit<CheckSpec, 'source' | 'destination'>; raw: unknown }> {
  const [token] = await mintT3s(w, 1);
  const call = inboundCall(token as string, newTraceId());
  const warm = await w.check(IP.outside, IP.files, call);
  if (!warm.allowed) throw new Error(`warm-up Check was denied: ${warm.body}`);
  const request = checkRequestMessage({
    ...call,
    source: { ip: IP.outside, port: 40000 },
    destination: { ip: IP.files, port: 8000 },
  });
  return { request, call, raw: warm.raw };
}

async function cacheHits(w: World, o: Options): Promise<{ generator: string; rounds: HitRound[] }> {
  const first = await warmCall(w);
  // The baseline answers exactly what the agent answers.
  const raw = first.raw as { status?: unknown; ok_response?: unknown };
  const bare = await startBareAuthz({ status: raw.status, ok_response: raw.ok_response });
  const agentTarget = w.agent.state().listen.authz;
  if (!agentTarget) throw new Error('the agent reports no ext_authz listener');
  const ghz = findGhz();
  const load = (target: string, request: unknown, durationMs = o.durationMs): Promise<LoadResult> => {
    const spec: LoadSpec = {
      target,
      request,
      concurrency: o.concurrency,
      durationMs,
      connections: o.connections,
    };
    return ghz ? ghzLoad(ghz, spec) : inProcessLoad(spec);
  };
  const rounds: HitRound[] = [];
  try {
    // Unmeasured warm-up of both targets (JIT, connections), so neither pays it in its run.
    const warmMs = Math.min(2_000, Math.ceil(o.durationMs / 5));
    await load(bare.target, first.request, warmMs);
    await load(agentTarget, first.request, warmMs);
    for (let i = 0; i < o.rounds; i++) {
      // A fresh token per round, cached right before the agent's run: the 30 s entry outlives it.
      const runAgent = async () => {
        const { request, call } = await warmCall(w);
        w.runtime.resetCalls();
        const result = await load(agentTarget, request);
        const introspect = w.runtime.calls('introspect');
        const after = await w.check(IP.outside, IP.files, call);
        if (!after.allowed) throw new Error(`Check denied after the run: ${after.body}`);
        return { result, introspect };
      };
      // Alternate which target goes first, so drift on the host does not favour one.
      let b: LoadResult;
      let a: { result: LoadResult; introspect: number };
      if (i % 2 === 0) {
        b = await load(bare.target, first.request);
        a = await runAgent();
      } else {
        a = await runAgent();
        b = await load(bare.target, first.request);
      }
      rounds.push({ bare: b, agent: a.result, introspectDuringAgent: a.introspect });
    }
  } finally {
    await bare.close();
  }
  return { generator: rounds[0]?.agent.generator ?? (ghz ? 'ghz' : 'grpc-js in-process'), rounds };
}

interface Ratios {
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

function ratios(r: HitRound): Ratios {
  return {
    throughput: r.agent.rps / r.bare.rps,
    p50: r.agent.p50Ms / r.bare.p50Ms,
    p99: r.agent.p99Ms / r.bare.p99Ms,
    p999: r.agent.p999Ms / r.bare.p999Ms,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function medianRatios(rounds: readonly HitRound[]): Ratios {
  const rs = rounds.map(ratios);
  return {
    throughput: median(rs.map((r) => r.throughput)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    p999: median(rs.map((r) => r.p999)),
  };
}

function printHits(o: Options, r: { generator: string; rounds: HitRound[] }): void {
  console.log(
    `\next_authz Check on introspection cache hits — load: ${r.generator}, concurrency ${o.concurrency}, ` +
      `${o.connections} connection(s), ${o.durationMs / 1000} s per target per round, ${o.rounds} round(s)`,
  );
  if (!r.generator.startsWith('ghz')) {
    console.log(
      '  (ghz is not built — run bash scripts/peers.sh; this in-process generator shares the event loop)',
    );
  }
  console.log('target                | checks  | checks/s | p50 ms | p99 ms | p99.9 ms | max ms  | errors');
  const row = (name: string, x: LoadResult) =>
    console.log(
      `${name.padEnd(21)} | ${pad(x.count, 7)} | ${pad(x.rps.toFixed(0), 8)} | ${pad(ms(x.p50Ms), 6)} | ${pad(ms(x.p99Ms), 6)} | ${pad(ms(x.p999Ms), 8)} | ${pad(ms(x.maxMs), 7)} | ${x.errors}`,
    );
  const line = (name: string, q: Ratios) =>
    console.log(
      `${name.padEnd(21)} | throughput ${q.throughput.toFixed(2)}x | p50 ${q.p50.toFixed(2)}x | ` +
        `p99 ${q.p99.toFixed(2)}x | p99.9 ${q.p999.toFixed(2)}x`,
    );
  r.rounds.forEach((round, i) => {
    const tag = r.rounds.length > 1 ? ` #${i + 1}` : '';
    row(`bare grpc-js${tag}`, round.bare);
    row(`casa-node-agent${tag}`, round.agent);
    line(`agent / bare${tag}`, ratios(round));
  });
  if (r.rounds.length > 1) line('agent / bare, median', medianRatios(r.rounds));
  const introspect = r.rounds.map((x) => x.introspectDuringAgent);
  console.log(
    `runtime introspect calls during the agent runs: ${introspect.join(', ')}` +
      (introspect.every((n) => n === 0) ? ' (every Check a cache hit)' : ''),
  );
}

export async function runCheckBench(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const o = parseOptions(argv);
  const w = await startWorld();
  const loadBefore = loadavg();
  try {
    const hits = await cacheHits(w, o);
    printHits(o, hits);
    const bursts: BurstRow[] = [];
    for (const n of o.uniques) bursts.push(await inboundBurst(w, n, o.burst));
    for (const n of o.uniques) bursts.push(await outboundBurst(w, n, o.burst));
    printBursts(o.burst, bursts);
    const loadAfter = loadavg();
    console.log(
      `\nhost: ${cpus().length} CPUs, load average ${loadBefore[0]?.toFixed(1)} → ${loadAfter[0]?.toFixed(1)} (other work on the host skews absolute figures; ratios are from the same run)`,
    );
    if (o.json) {
      const dir = join(packageRoot(), 'bench', 'results');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `check-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      writeFileSync(
        file,
        `${JSON.stringify({ options: o, cacheHits: hits, bursts, loadavg: { before: loadBefore, after: loadAfter } }, null, 2)}\n`,
      );
      console.log(`results: ${file}`);
    }
  } finally {
    await w.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCheckBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
