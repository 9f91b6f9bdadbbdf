// Inventory: lookup cost, update cost and memory per managed pod.
//
// For 1k / 10k / 50k managed pods (50 namespaces, one MAS each, pods mapped by
// workload name through their ReplicaSet):
//  - podByIp on a hit, as a ratio to Map.get on a map of the same size (the
//    floor for an IP → value lookup in this process);
//  - one pod update event (decode + mirror + registry), as a ratio to
//    JSON.parse of the same pod's text (what receiving the watch event costs
//    anyway);
//  - heap held per pod, against the size of the pod's JSON.
//
// Run: node --expose-gc <dist>/bench/inventory-bench.js [--lookups N]
import { pathToFileURL } from 'node:url';
import { ObjectMirror } from '../src/agent/inventory/events.js';
import { decodeObject } from '../src/agent/inventory/objects.js';
import { WorkloadRegistry } from '../src/agent/inventory/registry.js';

const NAMESPACES = 50;
const APPS_PER_NS = 20;

function ipOf(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

function podJson(i: number, generation = 0): string {
  const ns = `ns-${i % NAMESPACES}`;
  const app = `app-${i % APPS_PER_NS}`;
  return JSON.stringify({
    metadata: {
      name: `${app}-7d9f8c-${i}`,
      namespace: ns,
      uid: `0f1e2d3c-4b5a-6978-8796-${String(i).padStart(12, '0')}`,
      resourceVersion: String(1000 + generation),
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app, 'pod-template-hash': '7d9f8c', 'app.kubernetes.io/part-of': 'shop' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-7d9f8c`, uid: 'rs', controller: true },
      ],
    },
    spec: {
      nodeName: `node-${i % 100}`,
      containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] }],
    },
    status: {
      phase: 'Running',
      podIP: ipOf(i),
      podIPs: [{ ip: ipOf(i) }],
      conditions: [{ type: 'Ready', status: generation % 2 === 0 ? 'True' : 'False' }],
    },
  });
}

function setup(pods: number): { reg: WorkloadRegistry; mirror: ObjectMirror } {
  const reg = new WorkloadRegistry({ nodeName: 'node-1' });
  const mirror = new ObjectMirror('bench', reg);
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `ns-${n}`;
    mirror.upsert(
      decodeObject('Namespace', { metadata: { name: ns, labels: { 'casa.io/injection': 'enabled' } } }),
    );
    mirror.upsert(
      decodeObject('MultiAgentSystem', {
        metadata: { name: 'shop', namespace: ns },
        spec: {
          name: 'shop',
          apps: Array.from({ length: APPS_PER_NS }, (_, a) => ({
            name: `app-${a}`,
            type: a % 2 ? 'mcp_server' : 'agent',
            kubernetesWorkloadName: `app-${a}`,
            baseUrl: { host: `app-${a}.${ns}:8080`, scheme: 'http' },
          })),
        },
      }),
    );
  }
  for (let i = 0; i < pods; i++) mirror.upsert(decodeObject('Pod', JSON.parse(podJson(i))));
  return { reg, mirror };
}

function nsPerOp(n: number, f: (i: number) => unknown): number {
  let sink = 0;
  for (let i = 0; i < Math.min(n, 100_000); i++) if (f(i)) sink++; // warm up (every pod resolved once)
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (f(i)) sink++;
  const t1 = process.hrtime.bigint();
  if (sink < 0) console.log(sink);
  return Number(t1 - t0) / n;
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return process.memoryUsage().heapUsed;
}

export function main(argv: readonly string[]): void {
  const lookups = Number(argv[argv.indexOf('--lookups') + 1]) || 1_000_000;
  if (!(globalThis as { gc?: unknown }).gc) console.log('(run with --expose-gc for the memory figures)');
  console.log(
    'pods    podByIp ns  Map.get ns  ratio  | update µs  JSON.parse µs  ratio | heap B/pod  JSON B/pod',
  );
  for (const pods of [1_000, 10_000, 50_000]) {
    const before = heapUsed();
    const { reg, mirror } = setup(pods);
    const held = (heapUsed() - before) / pods;
    const ips = Array.from({ length: pods }, (_, i) => ipOf(i));
    const baseline = new Map(ips.map((ip, i) => [ip, { i }]));
    const lookup = nsPerOp(lookups, (k) => reg.podByIp(ips[k % pods] as string));
    const mapGet = nsPerOp(lookups, (k) => baseline.get(ips[k % pods] as string));
    const updates = Math.min(pods * 4, 100_000);
    const texts = Array.from({ length: 512 }, (_, k) => podJson(k % pods, 1 + (k % 2)));
    const update = nsPerOp(updates, (k) => {
      mirror.upsert(decodeObject('Pod', JSON.parse(texts[k % 512] as string)));
      return reg.version;
    });
    const parse = nsPerOp(updates, (k) => JSON.parse(texts[k % 512] as string));
    const json = podJson(1).length;
    console.log(
      [
        String(pods).padEnd(7),
        lookup.toFixed(0).padStart(10),
        mapGet.toFixed(0).padStart(11),
        (lookup / mapGet).toFixed(1).padStart(6),
        ' |',
        (update / 1000).toFixed(2).padStart(9),
        (parse / 1000).toFixed(2).padStart(14),
        (update / parse).toFixed(1).padStart(6),
        ' |',
        held.toFixed(0).padStart(10),
        String(json).padStart(11),
      ].join(' '),
    );
    reg.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
