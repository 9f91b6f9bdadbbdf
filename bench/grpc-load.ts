// Load for the ext_authz Check benchmark: ghz (the real gRPC load generator,
// TEST-PEERS.md) driving envoy.service.auth.v3.Authorization/Check with the
// Envoy protos, or — when ghz is not built — an in-process @grpc/grpc-js
// closed-loop generator; latency percentiles from every request; and the
// baseline: a bare @grpc/grpc-js server answering the same RPC with a
// constant CheckResponse.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { envoyProtoIncludeDirs, loadEnvoyGrpc, lookup } from '../src/envoy-xds/protos.js';
import { peerPath } from '../test/harness/peers.js';

export const CHECK_PROTO = 'envoy/service/auth/v3/external_auth.proto';
export const CHECK_CALL = 'envoy.service.auth.v3.Authorization.Check';

export interface LoadSpec {
  /** host:port of the Authorization service. */
  readonly target: string;
  /** A CheckRequest in proto3 JSON (proto field names), sent as is on every call. */
  readonly request: unknown;
  readonly concurrency: number;
  readonly durationMs: number;
  /** HTTP/2 connections the workers share (ghz --connections). */
  readonly connections: number;
}

export interface LoadResult {
  readonly generator: string;
  readonly count: number;
  /** Calls that did not end in gRPC OK. */
  readonly errors: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** Nearest-rank percentile of sorted latencies. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

function summarize(generator: string, latMs: Float64Array, errors: number, wallMs: number): LoadResult {
  latMs.sort();
  return {
    generator,
    count: latMs.length,
    errors,
    rps: (latMs.length / wallMs) * 1000,
    p50Ms: percentile(latMs, 0.5),
    p99Ms: percentile(latMs, 0.99),
    p999Ms: percentile(latMs, 0.999),
    maxMs: latMs.length > 0 ? (latMs[latMs.length - 1] as number) : Number.NaN,
  };
}

/** The ghz binary scripts/peers.sh builds, when it is there. */
export function findGhz(): string | undefined {
  let path: string;
  try {
    path = peerPath('ghz');
  } catch {
    return undefined;
  }
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

interface GhzReport {
  count: number;
  total: number;
  rps: number;
  statusCodeDistribution?: Record<string, number>;
  details?: { latency: number; status: string }[];
}

/** Runs ghz against `spec.target`; percentiles come from ghz's per-request details (ns). */
export async function ghzLoad(ghz: string, spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'casa-bench-'));
  try {
    const data = join(dir, 'check-request.json');
    const out = join(dir, 'report.json');
    writeFileSync(data, JSON.stringify(spec.request));
    const args = [
      '--insecure',
      '--import-paths',
      envoyProtoIncludeDirs().join(','),
      '--proto',
      CHECK_PROTO,
      '--call',
      CHECK_CALL,
      '--data-file',
      data,
      '--concurrency',
      String(spec.concurrency),
      '--connections',
      String(spec.connections),
      '--duration',
      `${spec.durationMs}ms`,
      // Stop at the deadline without counting the calls it cut off.
      '--duration-stop',
      'ignore',
      '--format',
      'json',
      '--output',
      out,
      spec.target,
    ];
    await new Promise<void>((resolve, reject) => {
      const p = spawn(ghz, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      p.on('error', reject);
      p.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`ghz exited ${code}: ${err.trim()}`)),
      );
    });
    const report = JSON.parse(readFileSync(out, 'utf8')) as GhzReport;
    const details = report.details ?? [];
    const lat = new Float64Array(details.length);
    let errors = 0;
    details.forEach((d, i) => {
      lat[i] = d.latency / 1e6;
      if (d.status !== 'OK') errors++;
    });
    const s = summarize('ghz 0.121', lat, errors, report.total / 1e6);
    return { ...s, rps: report.rps };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type CheckFn = (
  req: unknown,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => void;

function authorizationClient(target: string, channelId: number): grpc.Client & { Check: CheckFn } {
  const pkg = loadEnvoyGrpc([CHECK_PROTO]);
  const Ctor = lookup<grpc.ServiceClientConstructor>(pkg, 'envoy.service.auth.v3.Authorization');
  // A distinct channel option keeps grpc-js from sharing one subchannel between "connections".
  return new Ctor(target, grpc.credentials.createInsecure(), {
    'grpc.channel_id': channelId,
  }) as unknown as grpc.Client & { Check: CheckFn };
}

/**
 * Closed-loop load from this process: `concurrency` workers, each sending
 * the next Check when the previous answered, over `connections` channels.
 * It shares the event loop with the server under test when that runs in
 * this process too, so its figures are pessimistic for both sides alike.
 */
export async function inProcessLoad(spec: LoadSpec): Promise<LoadResult> {
  const clients = Array.from({ length: spec.connections }, (_, i) => authorizationClient(spec.target, i));
  const lat: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + spec.durationMs;
  const worker = async (w: number) => {
    const c = clients[w % clients.length] as grpc.Client & { Check: CheckFn };
    while (performance.now() < end) {
      const t0 = performance.now();
      const ok = await new Promise<boolean>((resolve) => {
        c.Check(spec.request, { deadline: Date.now() + 20_000 }, (err) => resolve(err === null));
      });
      const t1 = performance.now();
      if (t1 > end) break;
      lat.push(t1 - t0);
      if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, w) => worker(w)));
  const wall = performance.now() - start;
  for (const c of clients) c.close();
  return summarize('grpc-js in-process (ghz not built)', Float64Array.from(lat), errors, wall);
}

export interface BareAuthz {
  readonly target: string;
  close(): Promise<void>;
}

/** The baseline: Authorization/Check registered on a bare grpc-js server, answering `response` every time. */
export async function startBareAuthz(response: unknown): Promise<BareAuthz> {
  const pkg = loadEnvoyGrpc([CHECK_PROTO]);
  const svc = lookup<grpc.ServiceClientConstructor>(pkg, 'envoy.service.auth.v3.Authorization').service;
  const server = new grpc.Server();
  server.addService(svc, {
    Check: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, response),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return {
    target: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
