// XdsServer lifecycle over real gRPC: a throwing observer does not break
// streams; shutdown ends every open stream with UNAVAILABLE (so clients
// reconnect) and releases its watchers; the agent can mount the services on
// its own grpc.Server (addTo).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EnvoyCodec } from '../../../src/envoy-xds/codec.js';
import { TYPE_URL } from '../../../src/envoy-xds/discovery.js';
import { XdsServer } from '../../../src/envoy-xds/server.js';
import { SnapshotStore } from '../../../src/envoy-xds/snapshot-store.js';
import { cluster, route } from '../../unit/envoy-xds/fixtures.js';
import { RawXdsClient } from './raw-xds-client.js';

const node = { id: 'envoy-1' };
const codec = new EnvoyCodec();

describe('XdsServer lifecycle', () => {
  it('keeps serving when an observer throws, and reports the error', async () => {
    const store = new SnapshotStore({ codec });
    const observerErrors: unknown[] = [];
    const server = new XdsServer({
      store,
      observer: {
        onResponse: () => {
          throw new Error('metrics backend down');
        },
      },
      onObserverError: (err) => observerErrors.push(err),
    });
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    const client = new RawXdsClient(`127.0.0.1:${port}`);
    try {
      store.setSnapshot('envoy-1', { [TYPE_URL.cluster]: [cluster('a')] });
      const call = client.sotw();
      call.send({ node, type_url: TYPE_URL.cluster });
      const r = await call.next();
      assert.equal(r.resources.length, 1);
      assert.equal(observerErrors.length, 1);
      assert.equal(server.counters().responses[TYPE_URL.cluster], 1, 'the built-in counters still counted');
      call.end();
    } finally {
      client.close();
      await server.close(200);
    }
  });

  it('ends open streams with UNAVAILABLE on shutdown and releases their watchers', async () => {
    const store = new SnapshotStore({ codec });
    const server = new XdsServer({ store });
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    const client = new RawXdsClient(`127.0.0.1:${port}`);
    try {
      store.setSnapshot('envoy-1', { [TYPE_URL.route]: [route('r')] });
      const calls = [client.sotw(), client.delta()];
      for (const c of calls) c.send({ node, type_url: TYPE_URL.route, resource_names: ['r'] } as never);
      await Promise.all(calls.map((c) => c.next()));
      assert.equal(store.watcherCount(), 2);
      await server.close(500);
      for (const c of calls) {
        await assert.rejects(c.next(), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
      }
      assert.equal(store.watcherCount(), 0);
      assert.equal(server.streamsOpen, 0);
      assert.equal(server.counters().streamsClosed.server_shutdown, 2);
    } finally {
      client.close();
    }
  });

  it('mounts on a grpc.Server the agent owns (addTo)', async () => {
    const store = new SnapshotStore({ codec });
    const xds = new XdsServer({ store });
    const own = new grpc.Server();
    xds.addTo(own);
    const port = await new Promise<number>((res, rej) =>
      own.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    const client = new RawXdsClient(`127.0.0.1:${port}`);
    try {
      store.setSnapshot('envoy-1', { [TYPE_URL.cluster]: [cluster('a')] });
      const call = client.perTypeStream<object, { resources: unknown[] }>(
        'envoy.service.cluster.v3.ClusterDiscoveryService',
        'StreamClusters',
      );
      call.send({ node });
      assert.equal((await call.next()).resources.length, 1);
      await xds.close(200); // ends the streams; the server stays the agent's to stop
      await assert.rejects(call.next());
    } finally {
      client.close();
      own.forceShutdown();
    }
  });
});
