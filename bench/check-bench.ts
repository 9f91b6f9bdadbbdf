// ext_authz Check throughput and latency, and runtime calls under a burst.
//
// 1. Cache hits. The real NodeAgent (file inventory) and the reference CASA
//    runtime, as test/support/casa-world.ts wires them. One inbound Check
//    with a valid T3 for `read_file` to the MCP server warms the
//    introspection cache; then the same CheckRequest is driven by ghz for a
//    fixed time at a fixed concurrency — against the agent and against a bare
//    @grpc/grpc-js server registering the same Authorization service and
//    answering the agent's own CheckResponse as a constant. Same load, same
//    run, one after the other: the ratios are the agent's cost. Runtime
//    introspect calls during the agent's run prove every Check was a hit.
// 2. Single-flight. 1,000 concurrent Checks carrying N unique tokens (or N
//    unique traces, outbound) at a cold cache: runtime calls per unique token
//    should be 1.0.
//
// Run: node <dist>/bench/check-bench.js [--duration 10s] [--concurrency 50]
//        [--connections 1] [--rounds 1] [--burst 1000] [--uniques 1,10,100] [--no-json]
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/agent/paths.js';
import { CasaRuntimeClient } from '../src/agent/tokens/index.js';
import { type CheckSpec, checkRequestMessage } from '../test/support/authz-client.js';
import {
  HOST,
  IP,
  mcpCall,
  newTraceId,
  startWorld,
  traceparent,
  type World,
} from '../test/support/casa-world.js';
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
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string, dflt: number) => {
    const v = get(flag);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got ${v}`);
    return n;
  };
  const d = get('--duration') ?? '10s';
  const m = /^(\d+)(ms|s)$/.exec(d);
  if (!m) throw new Error(`--duration: expected e.g. 10s or 500ms, got ${d}`);
  const durationMs = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  // The introspection cache lives 30 s: a longer run would measure refreshes, not hits.
  if (durationMs > 25_000) throw new Error('--duration: at most 25s (the introspection cache lives 30 s)');
  return {
    durationMs,
    concurrency: int('--concurrency', 50),
    connections: int('--connections', 1),
    rounds: int('--rounds', 1),
    burst: int('--burst', 1000),
    uniques: (get('--uniques') ?? '1,10,100').split(',').map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--uniques: bad count ${s}`);
      return n;
    }),
    json: !argv.includes('--no-json'),
  };
}

/** N distinct T3s for `read_file` on the MCP server, minted at the runtime directly (the agent never saw them). */
async function mintT3s(w: World, n: number): Promise<string[]> {
  const rt = new CasaRuntimeClient({
    runtimeUrl: w.runtime.url,
    timeoutMs: 5_000,
    concurrency: 16,
    queue: 10_000,
  });
  try {
    const { planner, files } = w.apps;
    return await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const t1 = await rt.issueUserToken({
          appId: planner.appId,
          credentials: planner.credentials,
          userInput: `read my itinerary (bench ${i} ${newTraceId()})`,
        });
        const t3 = await rt.exchange({
          appId: files.appId,
          credentials: files.credentials,
          subjectToken: t1.accessToken,
          mcpServerUrl: `http://${HOST.files}/mcp`,
          tools: ['read_file'],
        });
        return t3.accessToken;
      }),
    );
  } finally {
    await rt.close();
  }
}

/** An inbound tools/call from an unmanaged caller to the MCP server, carrying a T3. */
function inboundCall(token: string, trace: string): Omit<CheckSpec, 'source' | 'destination'> {
  return {
    path: '/mcp',
    host: HOST.files,
    headers: {
      traceparent: traceparent(trace),
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
    },
    body: mcpCall('read_file'),
  };
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
const pad = (s: string | number, n: number) => String(s).padStart(n);

interface HitRound {
  readonly bare: LoadResult;
  readonly agent: LoadResult;
  readonly introspectDuringAgent: number;
}

async function cacheHits(w: World, o: Options): Promise<{ generator: string; rounds: HitRound[] }> {
  const [token] = await mintT3s(w, 1);
  const trace = newTraceId();
  const call = inboundCall(token as string, trace);
  const warm = await w.check(IP.outside, IP.files, call);
  if (!warm.allowed) throw new Error(`warm-up Check was denied: ${warm.body}`);
  // The baseline answers exactly what the agent answers.
  const raw = warm.raw as { status?: unknown; ok_response?: unknown };
  const bare = await startBareAuthz({ status: raw.status, ok_response: raw.ok_response });
  const request = checkRequestMessage({
    ...call,
    source: { ip: IP.outside, port: 40000 },
    destination: { ip: IP.files, port: 8000 },
  });
  const agentTarget = w.agent.state().listen.authz;
  if (!agentTarget) throw new Error('the agent reports no ext_authz listener');
  const ghz = findGhz();
  const load = (target: string): Promise<LoadResult> => {
    const spec: LoadSpec = {
      target,
      request,
      concurrency: o.concurrency,
      durationMs: o.durationMs,
      connections: o.connections,
    };
    return ghz ? ghzLoad(ghz, spec) : inProcessLoad(spec);
  };
  const rounds: HitRound[] = [];
  try {
    for (let i = 0; i < o.rounds; i++) {
      const b = await load(bare.target);
      // Re-warm right before the run so the 30 s entry outlives it.
      const again = await w.check(IP.outside, IP.files, call);
      if (!again.allowed) throw new Error(`Check denied before the run: ${again.body}`);
      w.runtime.resetCalls();
      const a = await load(agentTarget);
      const introspect = w.runtime.calls('introspect');
      const after = await w.check(IP.outside, IP.files, call);
      if (!after.allowed) throw new Error(`Check denied after the run: ${after.body}`);
      rounds.push({ bare: b, agent: a, introspectDuringAgent: introspect });
    }
  } finally {
    await bare.close();
  }
  return { generator: rounds[0]?.agent.generator ?? (ghz ? 'ghz' : 'grpc-js in-process'), rounds };
}

function printHits(o: Options, r: { generator: string; rounds: HitRound[] }): void {
  console.log(
    `\next_authz Check on introspection cache hits — load: ${r.generator}, concurrency ${o.concurrency}, ` +
      `${o.connections} connection(s), ${o.durationMs / 1000} s per target`,
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
  r.rounds.forEach((round, i) => {
    const tag = r.rounds.length > 1 ? ` #${i + 1}` : '';
    row(`bare grpc-js${tag}`, round.bare);
    row(`casa-node-agent${tag}`, round.agent);
    console.log(
      `agent / bare${tag.padEnd(9)} | throughput ${(round.agent.rps / round.bare.rps).toFixed(2)}x | p50 ${(round.agent.p50Ms / round.bare.p50Ms).toFixed(2)}x | ` +
        `p99 ${(round.agent.p99Ms / round.bare.p99Ms).toFixed(2)}x | p99.9 ${(round.agent.p999Ms / round.bare.p999Ms).toFixed(2)}x`,
    );
    console.log(
      `runtime introspect calls during the agent run${tag}: ${round.introspectDuringAgent}` +
        (round.introspectDuringAgent === 0 ? ' (every Check a cache hit)' : ''),
    );
  });
}

interface BurstRow {
  readonly path: string;
  readonly unique: number;
  readonly checks: number;
  readonly allowed: number;
  readonly introspect: number;
  readonly exchange: number;
  readonly wallMs: number;
}

/** `burst` concurrent inbound Checks over N fresh T3s (a cold introspection cache for each). */
async function inboundBurst(w: World, n: number, burst: number): Promise<BurstRow> {
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
async function outboundBurst(w: World, n: number, burst: number): Promise<BurstRow> {
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

function printBursts(burst: number, rows: readonly BurstRow[]): void {
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
      `\nhost: ${(await import('node:os')).cpus().length} CPUs, load average ${loadBefore[0]?.toFixed(1)} → ${loadAfter[0]?.toFixed(1)} (other work on the host skews absolute figures; ratios are from the same run)`,
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
