// xDS update latency and snapshot memory.
//
// For 10 / 110 / 250 workloads per node: the time from SnapshotStore.setSnapshot
// (encoding included) until an in-process raw xDS client (ADS, state of the
// world, parsing every resource before it ACKs) has ACKed the new RDS and
// ECDS versions — against, as the baseline in the same process, a unary gRPC
// round trip whose response has the same byte size as the xDS update. Then the
// heap held per node snapshot. Resources are synthetic but shaped like the
// agent's: per workload one virtual host (4 routes with ext_authz per-route
// settings) and one RBAC policy keyed by the pod IP.
//
// Run: node <dist>/bench/xds-bench.js [--iterations N]
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import { EnvoyCodec, type EnvoyJson } from '../src/envoy-xds/codec.js';
import { type DiscoveryResponse, TYPE_URL } from '../src/envoy-xds/discovery.js';
import { XdsServer } from '../src/envoy-xds/server.js';
import { type SnapshotInput, SnapshotStore } from '../src/envoy-xds/snapshot-store.js';
import { RawXdsClient } from '../test/integration/envoy-xds/raw-xds-client.js';

const ROUTES = 'casa/egress-routes';
const GATE = 'casa/egress-gate';
const NODE = 'bench-node';

export function workloadSnapshot(workloads: number, generation: number, node = NODE): SnapshotInput {
  const vhosts: EnvoyJson[] = [];
  const policies: Record<string, EnvoyJson> = {};
  for (let i = 0; i < workloads; i++) {
    const host = `app-${i}.mas-${i % 7}.svc.cluster.local`;
    const ip = `10.${(i >> 8) & 255}.${i & 255}.${(generation + i) % 250}`;
    vhosts.push({
      name: `${node}/app-${i}`,
      domains: [host, `${host}:8000`, `app-${i}`, `app-${i}:8000`],
      routes: ['/mcp', '/.well-known/agent-card.json', '/v1/message:send', '/'].map((prefix, r) => ({
        name: `app-${i}-r${r}`,
        match: { prefix },
        route: { cluster: `outbound|8000||${host}`, timeout: '30s' },
        typed_per_filter_config: {
          'envoy.filters.http.ext_authz': {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
            check_settings: {
              context_extensions: { app: `app-${i}`, mas: `mas-${i % 7}`, gen: String(generation) },
            },
          },
        },
      })),
    });
    policies[`app-${i}`] = {
      permissions: [{ header: { name: ':method', string_match: { exact: 'POST' } } }],
      principals: [{ direct_remote_ip: { address_prefix: ip, prefix_len: 32 } }],
    };
  }
  return {
    [TYPE_URL.route]: [{ name: ROUTES, virtual_hosts: vhosts }],
    [TYPE_URL.extensionConfig]: [
      {
        name: GATE,
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
          rules: { action: 'ALLOW', policies },
        },
      },
    ],
  };
}

interface Stats {
  p50: number;
  p99: number;
  mean: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

const ms = (ns: bigint) => Number(ns) / 1e6;

/** A unary echo service whose response is `size` bytes: the baseline round trip. */
async function startBaseline(): Promise<{ port: number; close: () => void }> {
  const server = new grpc.Server();
  const bytes = {
    serialize: (b: Buffer) => b,
    deserialize: (b: Buffer) => b,
  };
  server.addService(
    {
      Fill: {
        path: '/casa.bench.Baseline/Fill',
        requestStream: false,
        responseStream: false,
        requestSerialize: bytes.serialize,
        requestDeserialize: bytes.deserialize,
        responseSerialize: bytes.serialize,
        responseDeserialize: bytes.deserialize,
      },
    },
    {
      Fill: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        cb(null, Buffer.alloc(call.request.readUInt32BE(0), 7)),
    },
  );
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { port, close: () => server.forceShutdown() };
}

async function latency(workloadCounts: readonly number[], iterations: number): Promise<void> {
  const codec = new EnvoyCodec();
  const store = new SnapshotStore({ codec });
  const acked = new Map<string, () => void>();
  const server = new XdsServer({
    store,
    observer: { onAck: (e) => acked.get(`${e.typeUrl}|${e.version}`)?.() },
  });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const baseline = await startBaseline();
  const client = new RawXdsClient(`127.0.0.1:${port}`);
  const Baseline = grpc.makeGenericClientConstructor({}, 'Baseline');
  const unary = new Baseline(`127.0.0.1:${baseline.port}`, grpc.credentials.createInsecure());
  const fill = (size: number) =>
    new Promise<void>((resolve, reject) => {
      const req = Buffer.alloc(4);
      req.writeUInt32BE(size, 0);
      unary.makeUnaryRequest(
        '/casa.bench.Baseline/Fill',
        (b: Buffer) => b,
        (b: Buffer) => b,
        req,
        (err) => (err ? reject(err) : resolve()),
      );
    });

  console.log(
    'xDS update → ACK latency (ms) vs a unary gRPC round trip of the same response size, same process',
  );
  console.log(`(${iterations} updates per row; RDS + ECDS both ACKed; setSnapshot = encoding + versioning)`);
  console.log(
    row([
      'workloads',
      'bytes',
      'setSnapshot p50',
      'update→ACK p50',
      'p99',
      'wire+client p50',
      'unary p50',
      'p99',
      'ratio p50',
      'p99',
    ]),
  );
  for (const n of workloadCounts) {
    let generation = 0;
    store.setSnapshot(NODE, workloadSnapshot(n, generation));
    const call = client.sotw();
    // The client ACKs each response. Its deserializer (proto-loader, json: true)
    // decodes every Any into objects on the way in: the client's parse is included.
    const pump = async () => {
      for (;;) {
        let r: DiscoveryResponse;
        try {
          r = await call.next(600_000);
        } catch {
          return; // stream ended
        }
        const names = [r.type_url === TYPE_URL.route ? ROUTES : GATE];
        call.send({
          type_url: r.type_url,
          version_info: r.version_info,
          response_nonce: r.nonce,
          resource_names: names,
        });
      }
    };
    const pumping = pump();
    const waitAck = (typeUrl: string, version: string | undefined) =>
      new Promise<void>((resolve) => acked.set(`${typeUrl}|${version}`, resolve));
    const first = store.snapshot(NODE);
    const ready = Promise.all([
      waitAck(TYPE_URL.route, first?.types.get(TYPE_URL.route)?.version),
      waitAck(TYPE_URL.extensionConfig, first?.types.get(TYPE_URL.extensionConfig)?.version),
    ]);
    call.send({ node: { id: NODE }, type_url: TYPE_URL.route, resource_names: [ROUTES] });
    call.send({ type_url: TYPE_URL.extensionConfig, resource_names: [GATE] });
    await ready;

    const update: number[] = [];
    const encode: number[] = [];
    const wire: number[] = [];
    const base: number[] = [];
    let size = 0;
    for (let i = 0; i < iterations + 20; i++) {
      generation++;
      const input = workloadSnapshot(n, generation);
      const t0 = process.hrtime.bigint();
      const snap = store.setSnapshot(NODE, input);
      const t1 = process.hrtime.bigint();
      await Promise.all([
        waitAck(TYPE_URL.route, snap.types.get(TYPE_URL.route)?.version),
        waitAck(TYPE_URL.extensionConfig, snap.types.get(TYPE_URL.extensionConfig)?.version),
      ]);
      const t2 = process.hrtime.bigint();
      size = snap.bytes;
      const t3 = process.hrtime.bigint();
      await fill(size);
      const t4 = process.hrtime.bigint();
      if (i >= 20) {
        encode.push(ms(t1 - t0));
        wire.push(ms(t2 - t1));
        update.push(ms(t2 - t0));
        base.push(ms(t4 - t3));
      }
    }
    acked.clear();
    call.end();
    await pumping;
    const u = stats(update);
    const b = stats(base);
    const f = (x: number) => x.toFixed(2);
    console.log(
      row([
        String(n),
        String(size),
        f(stats(encode).p50),
        f(u.p50),
        f(u.p99),
        f(stats(wire).p50),
        f(b.p50),
        f(b.p99),
        `${(u.p50 / b.p50).toFixed(1)}x`,
        `${(u.p99 / b.p99).toFixed(1)}x`,
      ]),
    );
  }
  client.close();
  unary.close();
  baseline.close();
  await server.close(200);
}

function row(cells: readonly string[]): string {
  const widths = [9, 7, 15, 14, 7, 15, 9, 6, 9, 6];
  return cells.map((c, i) => c.padStart(widths[i] ?? 8)).join(' | ');
}

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function memory(workloadCounts: readonly number[], nodes: number): void {
  const gc = gcFunction();
  console.log(`\nheap held per node snapshot (${nodes} nodes each, after GC)`);
  console.log('workloads | encoded bytes/node | heap bytes/node | heap / encoded');
  for (const n of workloadCounts) {
    const store = new SnapshotStore({ codec: new EnvoyCodec(), maxNodes: nodes });
    // Warm the codec (proto loading) outside the measurement.
    store.setSnapshot('warm', workloadSnapshot(n, 0, 'warm'));
    store.clearSnapshot('warm');
    gc();
    gc();
    const before = process.memoryUsage();
    let encoded = 0;
    // The JSON input is garbage once encoded; only what the store holds survives the GC.
    for (let i = 0; i < nodes; i++)
      encoded += store.setSnapshot(`node-${i}`, workloadSnapshot(n, i, `node-${i}`)).bytes;
    gc();
    gc();
    const after = process.memoryUsage();
    const held = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    console.log(
      `${String(n).padStart(9)} | ${String(Math.round(encoded / nodes)).padStart(18)} | ${String(Math.round(held / nodes)).padStart(15)} | ${(held / encoded).toFixed(2)}x`,
    );
    if (store.nodes().length !== nodes) throw new Error('store lost nodes');
  }
}

export async function runXdsBench(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const i = argv.indexOf('--iterations');
  const iterations = i >= 0 ? Number(argv[i + 1]) : 200;
  const counts = [10, 110, 250];
  await latency(counts, iterations);
  memory(counts, 100);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runXdsBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
