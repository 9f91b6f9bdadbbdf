// Our xDS server against the REAL xDS client in @grpc/grpc-js-xds (ADS,
// state of the world), in a child process per scenario: the client resolves
// LDS -> RDS -> CDS -> EDS and calls a real gRPC backend through
// `xds:///<name>`; changes reach it; a resource it rejects is NACKed, parked
// (not resent) while the last good config keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EnvoyCodec } from '../../../src/envoy-xds/codec.js';
import { type NackEvent, TYPE_URL } from '../../../src/envoy-xds/discovery.js';
import { XdsServer } from '../../../src/envoy-xds/server.js';
import { SnapshotStore } from '../../../src/envoy-xds/snapshot-store.js';
import { type Backend, startBackend } from './grpc-backend.js';
import { grpcClientSnapshot, XdsClientProcess } from './xds-client-process.js';

const NODE = 'grpc-client-node';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('grpc-js-xds client against XdsServer (ADS, state of the world)', () => {
  const codec = new EnvoyCodec();
  const store = new SnapshotStore({ codec });
  const nacks: NackEvent[] = [];
  const acked: { typeUrl: string; version: string }[] = [];
  const server = new XdsServer({
    store,
    observer: {
      onNack: (e) => nacks.push(e),
      onAck: (e) => acked.push({ typeUrl: e.typeUrl, version: e.version }),
    },
  });
  let port = 0;
  let a: Backend;
  let b: Backend;

  before(async () => {
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
    a = await startBackend('backend-a');
    b = await startBackend('backend-b');
  });
  after(async () => {
    await server.close(500);
    await a.close();
    await b.close();
  });

  const base = {
    listener: 'echo.casa',
    route: 'route-echo',
    cluster: 'cluster-echo',
    edsService: 'eds-echo',
  };

  it('resolves LDS→RDS→CDS→EDS, follows a change, and survives a NACKed cluster without a resend loop', async () => {
    store.setSnapshot(NODE, grpcClientSnapshot({ ...base, ports: [a.port] }));
    const client = await XdsClientProcess.start(port, NODE);
    try {
      const first = await client.call(base.listener, 10_000);
      assert.deepEqual(first, { ok: true, backend: 'backend-a' }, client.stderr);
      for (const t of [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint]) {
        assert.ok(
          acked.some((x) => x.typeUrl === t),
          `the client ACKed ${t}`,
        );
      }
      assert.equal(server.clients().length, 1);
      assert.equal(server.clients()[0]?.node, NODE);

      // A snapshot change (new endpoint) reaches the client: calls land on B.
      const v2 = store.setSnapshot(NODE, grpcClientSnapshot({ ...base, ports: [b.port] }));
      await client.callUntil(base.listener, 'backend-b');
      const endpointVersion = v2.types.get(TYPE_URL.endpoint)?.version;
      await waitFor(() =>
        acked.some((x) => x.typeUrl === TYPE_URL.endpoint && x.version === endpointVersion),
      );

      // An invalid cluster (gRPC supports no MAGLEV): NACKed once, never resent.
      const cdsBefore = server.counters().responses[TYPE_URL.cluster] ?? 0;
      const bad = store.setSnapshot(
        NODE,
        grpcClientSnapshot({ ...base, ports: [b.port], lbPolicy: 'MAGLEV' }),
      );
      const badVersion = bad.types.get(TYPE_URL.cluster)?.version;
      await waitFor(() => nacks.some((n) => n.typeUrl === TYPE_URL.cluster));
      const nack = nacks.find((n) => n.typeUrl === TYPE_URL.cluster);
      assert.equal(nack?.version, badVersion);
      assert.match(nack?.errorMessage ?? '', /lb_policy/, 'the NACK error_detail is surfaced');
      await sleep(1000);
      assert.equal(
        server.counters().responses[TYPE_URL.cluster],
        cdsBefore + 1,
        'the NACKed cluster was sent once',
      );
      assert.equal(server.counters().nacks[TYPE_URL.cluster], 1);
      const status = server.clients()[0]?.types[TYPE_URL.cluster];
      assert.equal(status?.nacked, badVersion);
      assert.notEqual(status?.acked, badVersion, 'the last ACKed version stays in effect');
      assert.match(status?.error ?? '', /lb_policy/);

      // The last good config still serves.
      for (let i = 0; i < 3; i++)
        assert.deepEqual(await client.call(base.listener), { ok: true, backend: 'backend-b' });

      // The next change is sent normally and ACKed.
      const fixed = store.setSnapshot(NODE, grpcClientSnapshot({ ...base, ports: [a.port] }));
      const fixedCluster = fixed.types.get(TYPE_URL.cluster)?.version;
      await waitFor(() => acked.some((x) => x.typeUrl === TYPE_URL.cluster && x.version === fixedCluster));
      await client.callUntil(base.listener, 'backend-a');
      assert.equal(server.clients()[0]?.types[TYPE_URL.cluster]?.error, undefined);
    } finally {
      await client.stop();
    }
    await waitFor(() => server.streamsOpen === 0);
    assert.equal(store.watcherCount(), 0, 'the ended stream left no watcher behind');
  });

  it('keeps the last good route configuration when an RDS update is NACKed', async () => {
    const node = `${NODE}-rds`;
    store.setSnapshot(node, grpcClientSnapshot({ ...base, ports: [a.port] }));
    const client = await XdsClientProcess.start(port, node);
    try {
      assert.deepEqual(
        await client.call(base.listener, 10_000),
        { ok: true, backend: 'backend-a' },
        client.stderr,
      );
      const rdsBefore = server.counters().responses[TYPE_URL.route] ?? 0;
      const nacksBefore = nacks.length;
      // A domain with a wildcard in the middle is invalid for gRPC's RDS validation.
      store.setSnapshot(node, grpcClientSnapshot({ ...base, ports: [a.port], domains: ['echo.*.casa'] }));
      await waitFor(() => nacks.length > nacksBefore);
      assert.equal(nacks.at(-1)?.typeUrl, TYPE_URL.route);
      assert.match(nacks.at(-1)?.errorMessage ?? '', /wildcard/);
      await sleep(1000);
      assert.equal(
        server.counters().responses[TYPE_URL.route],
        rdsBefore + 1,
        'the NACKed route was sent once',
      );
      assert.deepEqual(await client.call(base.listener), { ok: true, backend: 'backend-a' });
    } finally {
      await client.stop();
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(20);
  }
}
