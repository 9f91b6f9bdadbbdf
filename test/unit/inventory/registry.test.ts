import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { ObjectMirror } from '../../../src/agent/inventory/events.js';
import { decodeTypedObject } from '../../../src/agent/inventory/objects.js';
import { WorkloadRegistry } from '../../../src/agent/inventory/registry.js';
import { endpointSlice, Feed, mas, namespace, pod, secret, service } from './fixtures.js';

const trip = mas(
  'travel',
  'trip',
  [
    { name: 'planner', type: 'agent', workload: 'planner', host: 'planner.travel:8080', prompt: '{.prompt}' },
    { name: 'flights', type: 'mcp_server', workload: 'flights-mcp', host: 'flights-mcp' },
  ],
  'llm.example.com',
);

function setup(opts: ConstructorParameters<typeof WorkloadRegistry>[0] = { nodeName: 'node-a' }) {
  const reg = new WorkloadRegistry(opts);
  const feed = new Feed(reg).upsert(namespace('travel'), trip);
  return { reg, feed };
}

describe('IP → workload: identity is the pod UID, never an inherited IP', () => {
  it('an IP reused by a new pod after the old one is deleted resolves to the new pod', () => {
    const { reg, feed } = setup();
    const old = pod({ name: 'planner', uid: 'u-old', ip: '10.0.0.7' });
    feed.upsert(old);
    assert.equal(reg.podByIp('10.0.0.7')?.podUid, 'u-old');
    feed.remove(old);
    assert.equal(reg.podByIp('10.0.0.7'), undefined);
    feed.upsert(
      pod({
        name: 'flights-mcp-0',
        uid: 'u-new',
        ip: '10.0.0.7',
        owner: { kind: 'StatefulSet', name: 'flights-mcp' },
      }),
    );
    const w = reg.podByIp('10.0.0.7');
    assert.equal(w?.podUid, 'u-new');
    assert.equal(w?.app.name, 'flights');
  });

  it('when the new pod arrives before the old one leaves, the newest pod wins and the conflict is a warning', () => {
    const { reg, feed } = setup();
    const old = pod({ name: 'planner', uid: 'u-old', ip: '10.0.0.8', created: '2026-01-01T00:00:00Z' });
    const fresh = pod({ name: 'stranger', uid: 'u-new', ip: '10.0.0.8', created: '2026-01-01T00:05:00Z' });
    feed.upsert(old, fresh);
    assert.equal(
      reg.podByIp('10.0.0.8'),
      undefined,
      'the new pod is no app: the old identity must not leak to it',
    );
    assert.ok(
      reg
        .warnings()
        .some((w) =>
          w.startsWith('IP 10.0.0.8 is claimed by pods travel/stranger (uid u-new), travel/planner'),
        ),
    );
    feed.remove(old);
    assert.equal(reg.podByIp('10.0.0.8'), undefined);
    assert.ok(!reg.warnings().some((w) => w.startsWith('IP 10.0.0.8')));
  });

  it('an older pod reported late does not take the IP back', () => {
    const { reg, feed } = setup();
    feed.upsert(pod({ name: 'planner', uid: 'u-new', ip: '10.0.0.9', created: '2026-01-01T00:05:00Z' }));
    feed.upsert(pod({ name: 'flights-mcp', uid: 'u-old', ip: '10.0.0.9', created: '2026-01-01T00:00:00Z' }));
    assert.equal(reg.podByIp('10.0.0.9')?.podUid, 'u-new');
  });

  it('a pod whose IP changes no longer answers on the old IP', () => {
    const { reg, feed } = setup();
    feed.upsert(pod({ name: 'planner', ip: '10.0.0.10' }));
    feed.upsert(pod({ name: 'planner', ip: '10.0.0.11' }));
    assert.equal(reg.podByIp('10.0.0.10'), undefined);
    assert.equal(reg.podByIp('10.0.0.11')?.app.name, 'planner');
  });

  it('a pod recreated under the same name (new UID) replaces the old record', () => {
    const { reg, feed } = setup();
    feed.upsert(pod({ name: 'planner', uid: 'u1', ip: '10.0.0.12' }));
    feed.upsert(pod({ name: 'planner', uid: 'u2', ip: '10.0.0.13' }));
    assert.equal(reg.podByIp('10.0.0.12'), undefined);
    assert.equal(reg.podByIp('10.0.0.13')?.podUid, 'u2');
  });

  it('a pod that starts terminating stops claiming its IP at once', () => {
    const { reg, feed } = setup();
    feed.upsert(pod({ name: 'planner', ip: '10.0.0.14' }));
    feed.upsert(pod({ name: 'planner', ip: '10.0.0.14', deleting: true }));
    assert.equal(reg.podByIp('10.0.0.14'), undefined);
  });

  it('a pod held by two streams stays until both have deleted it', () => {
    const { reg } = setup();
    const a = new Feed(reg, 'pods@node');
    const b = new Feed(reg, 'pods@ns/travel');
    const p = pod({ name: 'planner', ip: '10.0.0.15' });
    a.upsert(p);
    b.upsert(p);
    a.remove(p);
    assert.ok(reg.podByIp('10.0.0.15'));
    b.remove(p);
    assert.equal(reg.podByIp('10.0.0.15'), undefined);
  });

  it('IPs are compared in canonical form (Envoy may report an IPv4-mapped or differently spelled IPv6 address)', () => {
    const { reg, feed } = setup();
    feed.upsert(pod({ name: 'planner', ips: ['10.0.0.16', 'fd00::16'] }));
    assert.equal(reg.podByIp('::ffff:10.0.0.16')?.app.name, 'planner');
    assert.equal(reg.podByIp('FD00:0:0:0:0:0:0:16')?.app.name, 'planner');
  });

  it('matches a model of "newest running pod claiming the IP" under any sequence of events (property)', () => {
    const ips = ['10.9.0.1', '10.9.0.2', '10.9.0.3'];
    const names = ['planner', 'flights-mcp', 'other'];
    const op = fc.record({
      del: fc.boolean(),
      name: fc.constantFrom(...names),
      uid: fc.integer({ min: 0, max: 5 }),
      ip: fc.constantFrom(...ips),
      minute: fc.integer({ min: 0, max: 9 }),
      running: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { reg, feed } = setup();
        const model = new Map<
          string,
          { name: string; uid: string; ip: string; created: number; running: boolean }
        >();
        for (const o of ops) {
          const raw = pod({
            name: o.name,
            uid: `${o.name}-${o.uid}`,
            ip: o.ip,
            created: `2026-01-01T00:0${o.minute}:00Z`,
            phase: o.running ? 'Running' : 'Pending',
          });
          if (o.del) {
            feed.remove(raw);
            model.delete(o.name);
          } else {
            feed.upsert(raw);
            model.set(o.name, {
              name: o.name,
              uid: `${o.name}-${o.uid}`,
              ip: o.ip,
              created: o.minute,
              running: o.running,
            });
          }
          for (const ip of ips) {
            const claimants = [...model.values()].filter((p) => p.ip === ip && p.running);
            claimants.sort((x, y) => y.created - x.created || (y.uid > x.uid ? 1 : -1));
            const want = claimants[0];
            const got = reg.podByIp(ip);
            const wantApp = want && want.name !== 'other' ? want.uid : undefined;
            assert.equal(got?.podUid, wantApp, `ip ${ip} after ${JSON.stringify(o)}`);
          }
        }
      }),
    );
  });
});

describe('local workloads and destinations', () => {
  it('localWorkloads lists only managed pods on this node', () => {
    const { reg, feed } = setup();
    feed.upsert(
      pod({ name: 'planner', ip: '10.0.1.1', node: 'node-a' }),
      pod({ name: 'flights-mcp', ip: '10.0.2.1', node: 'node-b' }),
      pod({ name: 'other', ip: '10.0.1.2', node: 'node-a' }),
    );
    assert.deepEqual(
      reg.localWorkloads().map((w) => w.podName),
      ['planner'],
    );
    assert.equal(reg.resolveDestination('10.0.2.1', undefined)?.app.name, 'flights');
    assert.equal(reg.stats().clusterWorkloads, 2);
    assert.equal(reg.stats().localWorkloads, 1);
  });

  it('a Service named by an app baseUrl.host resolves by its VIP (any Service DNS form)', () => {
    const { reg, feed } = setup();
    feed.upsert(service('travel', 'planner', '10.96.0.1'), service('travel', 'flights-mcp', '10.96.0.2'));
    const t = reg.resolveDestination('10.96.0.1', 'whatever');
    assert.equal(t?.kind, 'service');
    assert.equal(t?.app.name, 'planner');
    assert.deepEqual(t?.kind === 'service' && [t.serviceName, t.clusterIps], ['planner', ['10.96.0.1']]);
    assert.equal(reg.resolveDestination('10.96.0.2', undefined)?.app.name, 'flights');
  });

  it('a Service not named by any app resolves through the app pods its selector picks', () => {
    const { reg, feed } = setup();
    feed.upsert(
      pod({
        name: 'planner-0',
        ip: '10.0.1.3',
        owner: { kind: 'StatefulSet', name: 'planner' },
        labels: { role: 'p' },
      }),
      service('travel', 'planner-internal', '10.96.0.3', { role: 'p' }),
      service('travel', 'unrelated', '10.96.0.4', { role: 'none' }),
    );
    assert.equal(reg.resolveDestination('10.96.0.3', undefined)?.app.name, 'planner');
    assert.equal(
      reg.resolveDestination('10.96.0.4', 'planner.travel:8080'),
      undefined,
      'a known unmanaged VIP never falls back to Host',
    );
  });

  it('an EndpointSlice address of an app Service resolves to that app', () => {
    const { reg, feed } = setup();
    feed.upsert(
      service('travel', 'flights-mcp', '10.96.0.5'),
      endpointSlice('travel', 'flights-mcp-x1', 'flights-mcp', ['10.0.3.1']),
    );
    assert.equal(reg.resolveDestination('10.0.3.1', undefined)?.app.name, 'flights');
  });

  it('an unknown address falls back to the Host header (case- and port-insensitive); resolveAddress does not', () => {
    const { reg } = setup();
    assert.equal(reg.resolveDestination('192.0.2.1', 'PLANNER.travel:9999')?.app.name, 'planner');
    assert.equal(reg.resolveDestination(undefined, 'planner.travel.svc.cluster.local')?.app.name, 'planner');
    assert.equal(reg.resolveDestination(undefined, 'flights-mcp.travel')?.app.name, 'flights');
    assert.equal(reg.resolveDestination(undefined, 'unknown.example.com'), undefined);
    assert.equal(reg.resolveAddress('192.0.2.1'), 'unknown');
  });

  it('a known unmanaged pod on this node never falls back to the Host header', () => {
    const { reg, feed } = setup();
    feed.upsert(namespace('plain', false), pod({ ns: 'plain', name: 'x', ip: '10.0.4.1' }));
    assert.equal(reg.resolveDestination('10.0.4.1', 'planner.travel'), undefined);
  });

  it('appByHost / appByWorkloadName answer for the Istio adapter', () => {
    const { reg } = setup();
    assert.equal(reg.appByHost('Planner.Travel:8080')?.app.name, 'planner');
    assert.equal(reg.appByHost('planner.travel')?.llmHost, 'llm.example.com');
    assert.equal(reg.appByWorkloadName('travel', 'FLIGHTS-MCP')?.app.name, 'flights');
    assert.equal(reg.appByWorkloadName('other', 'flights-mcp'), undefined);
  });
});

describe('app credentials', () => {
  it('come from `<app-id>-oauth2-credentials` and follow rotation and deletion', () => {
    const { reg, feed } = setup();
    const planner = reg.appByHost('planner.travel');
    assert.ok(planner);
    assert.equal(planner.appId, 'planner');
    assert.equal(reg.credentials(planner), undefined);
    feed.upsert(secret('travel', 'planner-oauth2-credentials', { clientId: 'id', clientSecret: 'one' }));
    assert.deepEqual(reg.credentials(planner), { clientId: 'id', clientSecret: 'one' });
    const v = reg.version;
    feed.upsert(secret('travel', 'planner-oauth2-credentials', { clientId: 'id', clientSecret: 'two' }));
    assert.deepEqual(reg.credentials(planner), { clientId: 'id', clientSecret: 'two' });
    assert.ok(reg.version > v);
    feed.remove(secret('travel', 'planner-oauth2-credentials', {}));
    assert.equal(reg.credentials(planner), undefined);
  });

  it('a Secret labelled casa.io/mas-name + casa.io/app-name gives the runtime app id (CASA operator UUIDs)', () => {
    const { reg, feed } = setup();
    const uuid = '3f2b8c1e-0000-4000-8000-000000000001';
    feed.upsert(
      secret(
        'travel',
        `${uuid}-oauth2-credentials`,
        { clientId: `http://rt/${uuid}/oauth2/client-metadata.json`, clientSecret: 's' },
        {
          'casa.io/mas-name': 'trip',
          'casa.io/app-name': 'flights',
        },
      ),
    );
    const flights = reg.appByWorkloadName('travel', 'flights-mcp');
    assert.equal(flights?.appId, uuid);
    assert.equal(flights && reg.credentials(flights)?.clientSecret, 's');
  });

  it('credentials of another namespace are never used', () => {
    const { reg, feed } = setup();
    feed.upsert(secret('elsewhere', 'planner-oauth2-credentials', { clientId: 'x', clientSecret: 'y' }));
    const planner = reg.appByHost('planner.travel');
    assert.equal(planner && reg.credentials(planner), undefined);
  });
});

describe('change notification', () => {
  it('a burst of events gives one notification; reads see each event at once', async () => {
    const { reg, feed } = setup({ nodeName: 'node-a', coalesceMs: 5 });
    let calls = 0;
    const off = reg.onChange(() => calls++);
    const v0 = reg.version;
    for (let i = 0; i < 200; i++) {
      feed.upsert(
        pod({ name: `p${i}`, ip: `10.2.${i >> 8}.${i & 255}`, labels: { 'casa.io/app': 'planner' } }),
      );
      assert.equal(reg.podByIp(`10.2.${i >> 8}.${i & 255}`)?.app.name, 'planner');
    }
    assert.ok(reg.version >= v0 + 200);
    assert.equal(calls, 0);
    await sleep(30);
    assert.equal(calls, 1);
    feed.upsert(pod({ name: 'p0', ip: '10.3.0.0' }));
    await sleep(30);
    assert.equal(calls, 2);
    off();
    feed.upsert(pod({ name: 'p1', ip: '10.3.0.1' }));
    await sleep(30);
    assert.equal(calls, 2);
    reg.close();
  });

  it('an update that changes nothing the inventory keeps is no event and no new version', () => {
    const { reg, feed } = setup();
    const raw = pod({ name: 'planner', ip: '10.0.5.1' });
    feed.upsert(raw);
    const v = reg.version;
    (raw.status as Record<string, unknown>).containerStatuses = [{ restartCount: 3 }];
    feed.upsert(raw);
    assert.equal(reg.version, v);
  });

  it('a MAS that turns invalid keeps its last good state and shows a problem until fixed or deleted', () => {
    const { reg, feed } = setup();
    const broken = mas('travel', 'trip', [{ name: 'planner', type: 'robot' }]);
    feed.upsert(broken);
    assert.equal(reg.appByHost('planner.travel')?.app.type, 'agent');
    assert.deepEqual(
      reg.problems().map((p) => p.ref),
      ['MultiAgentSystem travel/trip'],
    );
    feed.upsert(trip);
    assert.deepEqual(reg.problems(), []);
  });

  it('one bad MAS does not poison the others', () => {
    const reg = new WorkloadRegistry();
    const mirror = new ObjectMirror('s', reg);
    mirror.replace(
      ['Namespace', 'MultiAgentSystem'],
      [
        namespace('travel'),
        mas('travel', 'bad', [{ name: 'x', type: 'robot' }]),
        mas('travel', 'good', [{ name: 'y' }]),
      ].map(decodeTypedObject),
    );
    assert.deepEqual(
      reg.multiAgentSystems().map((m) => m.ref.name),
      ['good'],
    );
    assert.equal(reg.problems().length, 1);
  });
});
