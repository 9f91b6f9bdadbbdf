// ARCHITECTURE.md §2 "Workload": which pods are which MAS app.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkloadRegistry } from '../../../src/agent/inventory/registry.js';
import { Feed, mas, namespace, type PodSpec, pod, replicaSet } from './fixtures.js';

function registryWith(...raws: Record<string, unknown>[]): { reg: WorkloadRegistry; feed: Feed } {
  const reg = new WorkloadRegistry({ nodeName: 'node-a' });
  const feed = new Feed(reg).upsert(namespace('travel'), namespace('plain', false), ...raws);
  return { reg, feed };
}

const travel = mas('travel', 'trip', [
  { name: 'planner', type: 'agent', workload: 'planner' },
  { name: 'flights', type: 'mcp_server', workload: 'flights-mcp' },
  { name: 'ui', type: 'agent', workload: 'web-ui' },
]);

interface Row {
  readonly rule: string;
  readonly pod: PodSpec;
  readonly extra?: Record<string, unknown>[];
  /** Expected app name and type, or undefined for "not a workload". */
  readonly want?: [string, string];
  readonly warning?: RegExp;
}

const rows: Row[] = [
  {
    rule: 'a Deployment pod maps through its ReplicaSet (pod-template-hash suffix stripped)',
    pod: {
      name: 'planner-5d8c7-x1',
      labels: { 'pod-template-hash': '5d8c7' },
      owner: { kind: 'ReplicaSet', name: 'planner-5d8c7' },
    },
    want: ['planner', 'agent'],
  },
  {
    rule: 'a known ReplicaSet decides through its own owner, whatever its name',
    pod: { name: 'p-1', owner: { kind: 'ReplicaSet', name: 'odd-name', uid: 'rs-9' } },
    extra: [replicaSet('travel', 'odd-name', 'rs-9', { kind: 'Deployment', name: 'planner' })],
    want: ['planner', 'agent'],
  },
  {
    rule: 'a known ReplicaSet of another uid (recreated) is not trusted; the hash rule applies',
    pod: {
      name: 'flights-mcp-abc-1',
      labels: { 'pod-template-hash': 'abc' },
      owner: { kind: 'ReplicaSet', name: 'flights-mcp-abc', uid: 'rs-new' },
    },
    extra: [replicaSet('travel', 'flights-mcp-abc', 'rs-old', { kind: 'Deployment', name: 'planner' })],
    want: ['flights', 'mcp_server'],
  },
  {
    rule: 'a bare ReplicaSet without the hash label is its own workload',
    pod: { name: 'planner-x', owner: { kind: 'ReplicaSet', name: 'planner' } },
    want: ['planner', 'agent'],
  },
  {
    rule: 'a StatefulSet pod maps by the StatefulSet name',
    pod: { name: 'flights-mcp-0', owner: { kind: 'StatefulSet', name: 'flights-mcp' } },
    want: ['flights', 'mcp_server'],
  },
  {
    rule: 'a DaemonSet pod maps by the DaemonSet name',
    pod: { name: 'web-ui-abcde', owner: { kind: 'DaemonSet', name: 'web-ui' } },
    want: ['ui', 'agent'],
  },
  {
    rule: 'a Job pod maps by the Job name',
    pod: { name: 'planner-xyz', owner: { kind: 'Job', name: 'planner' } },
    want: ['planner', 'agent'],
  },
  { rule: 'a bare pod is its own workload', pod: { name: 'planner' }, want: ['planner', 'agent'] },
  {
    rule: 'workload names compare case-insensitively (as CASA does)',
    pod: { name: 'x-0', owner: { kind: 'StatefulSet', name: 'Flights-MCP' } },
    want: ['flights', 'mcp_server'],
  },
  {
    rule: 'a pod whose workload is no app is not a workload',
    pod: { name: 'other-0', owner: { kind: 'StatefulSet', name: 'other' } },
  },
  {
    rule: 'the casa.io/app label wins over the workload name',
    pod: {
      name: 'planner-0',
      owner: { kind: 'StatefulSet', name: 'planner' },
      labels: { 'casa.io/app': 'flights' },
    },
    want: ['flights', 'mcp_server'],
  },
  {
    rule: 'a casa.io/app label naming no app is not a workload, and says so',
    pod: {
      name: 'planner-0',
      owner: { kind: 'StatefulSet', name: 'planner' },
      labels: { 'casa.io/app': 'nope' },
    },
    warning: /Pod travel\/planner-0: label casa\.io\/app=nope names no app/,
  },
  {
    rule: 'casa.io/app-type overrides the app type (client from the label)',
    pod: {
      name: 'web-ui-0',
      owner: { kind: 'StatefulSet', name: 'web-ui' },
      labels: { 'casa.io/app-type': 'client' },
    },
    want: ['ui', 'client'],
  },
  {
    rule: 'an invalid casa.io/app-type is ignored, with a warning',
    pod: {
      name: 'web-ui-0',
      owner: { kind: 'StatefulSet', name: 'web-ui' },
      labels: { 'casa.io/app-type': 'robot' },
    },
    want: ['ui', 'agent'],
    warning: /label casa\.io\/app-type="robot" is not agent, mcp_server or client; using agent/,
  },
  {
    rule: 'a pod in an unmanaged namespace is not a workload',
    pod: { ns: 'plain', name: 'planner' },
    extra: [mas('plain', 'p', [{ name: 'planner' }])],
  },
  {
    rule: 'a pod never takes an app of a MAS in another namespace',
    pod: { ns: 'other', name: 'planner' },
    extra: [namespace('other')],
  },
  {
    rule: 'a label never reaches an app of a MAS in another namespace',
    pod: { ns: 'other', name: 'x', labels: { 'casa.io/app': 'planner' } },
    extra: [namespace('other')],
    warning: /names no app/,
  },
];

describe('workload membership', () => {
  for (const row of rows) {
    it(row.rule, () => {
      const { reg } = registryWith(travel, ...(row.extra ?? []), pod({ ip: '10.1.0.1', ...row.pod }));
      const w = reg.podByIp('10.1.0.1');
      if (row.want) {
        assert.ok(w, 'expected a workload');
        assert.deepEqual([w.app.name, w.type], row.want);
        assert.equal(w.podName, row.pod.name);
      } else assert.equal(w, undefined);
      if (row.warning)
        assert.ok(
          reg.warnings().some((x) => row.warning?.test(x)),
          reg.warnings().join('\n'),
        );
    });
  }

  it('two MASes claiming one workload: the first by namespace/name wins, and a warning names both', () => {
    for (const order of [
      ['a-mas', 'b-mas'],
      ['b-mas', 'a-mas'],
    ]) {
      const { reg } = registryWith(
        ...order.map((n) => mas('travel', n, [{ name: `app-of-${n}`, workload: 'shared' }])),
        pod({ name: 'shared', ip: '10.1.0.2' }),
      );
      assert.equal(reg.podByIp('10.1.0.2')?.mas.name, 'a-mas');
      assert.ok(
        reg
          .warnings()
          .some((w) =>
            w.includes(
              'workload travel/shared is claimed by travel/a-mas/app-of-a-mas, travel/b-mas/app-of-b-mas',
            ),
          ),
        reg.warnings().join('\n'),
      );
    }
  });

  it('pods that are not Running, are terminating, use the host network or have no IP claim no IP', () => {
    const cases: PodSpec[] = [
      { name: 'planner', phase: 'Pending' },
      { name: 'planner', phase: 'Succeeded' },
      { name: 'planner', deleting: true },
      { name: 'planner', hostNetwork: true },
    ];
    for (const c of cases) {
      const { reg } = registryWith(travel, pod({ ...c, ip: '10.1.0.3' }));
      assert.equal(reg.podByIp('10.1.0.3'), undefined, JSON.stringify(c));
      assert.deepEqual(reg.localWorkloads(), []);
    }
  });

  it('membership follows MAS changes: an app renamed away un-manages its pods', () => {
    const { reg, feed } = registryWith(travel, pod({ name: 'planner', ip: '10.1.0.4' }));
    assert.equal(reg.podByIp('10.1.0.4')?.app.name, 'planner');
    feed.upsert(mas('travel', 'trip', [{ name: 'planner2', workload: 'planner-v2' }]));
    assert.equal(reg.podByIp('10.1.0.4'), undefined);
    feed.remove(travel);
    assert.equal(reg.multiAgentSystems().length, 0);
  });

  it('a namespace losing casa.io/injection=enabled un-manages its pods', () => {
    const { reg, feed } = registryWith(travel, pod({ name: 'planner', ip: '10.1.0.5' }));
    assert.ok(reg.podByIp('10.1.0.5'));
    feed.upsert(namespace('travel', false));
    assert.equal(reg.podByIp('10.1.0.5'), undefined);
    assert.equal(reg.isManagedNamespace('travel'), false);
  });
});
