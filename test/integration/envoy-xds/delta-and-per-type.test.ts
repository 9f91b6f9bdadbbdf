// The incremental protocol and the per-type services over real gRPC, with a
// raw client written from the protos (grpc-js-xds speaks only SotW ADS):
// subscribe/unsubscribe, removed_resources, initial_resource_versions on
// reconnect; Envoy-style per-type RDS/ECDS streams as Cilium's listeners open
// them; protocol errors and limits end streams with the right status.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EnvoyCodec } from '../../../src/envoy-xds/codec.js';
import { type DiscoveryResponse, TYPE_URL } from '../../../src/envoy-xds/discovery.js';
import { XdsServer } from '../../../src/envoy-xds/server.js';
import { SnapshotStore } from '../../../src/envoy-xds/snapshot-store.js';
import { cluster, extensionConfig, route } from '../../unit/envoy-xds/fixtures.js';
import { RawXdsClient } from './raw-xds-client.js';

const node = { id: 'envoy-1', user_agent_name: 'envoy', user_agent_version: '1.34.0' };
const RDS = 'envoy.service.route.v3.RouteDiscoveryService';
const ECDS = 'envoy.service.extension.v3.ExtensionConfigDiscoveryService';

describe('XdsServer over gRPC: delta and per-type services', () => {
  const store = new SnapshotStore({ codec: new EnvoyCodec() });
  const server = new XdsServer({ store, maxStreams: 50, controlPlaneId: 'casa-agent-test' });
  let client: RawXdsClient;

  before(async () => {
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    client = new RawXdsClient(`127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    await server.close(500);
  });

  it('delta ADS: subscribe, change, remove, unsubscribe; ACKs recorded', async () => {
    store.setSnapshot('envoy-1', { [TYPE_URL.cluster]: [cluster('a'), cluster('b')] });
    const call = client.delta();
    call.send({ node, type_url: TYPE_URL.cluster, resource_names_subscribe: ['a', 'missing'] });
    const r1 = await call.next();
    assert.deepEqual(
      r1.resources.map((r) => r.name),
      ['a'],
    );
    assert.deepEqual(r1.removed_resources, ['missing']);
    assert.equal(r1.control_plane?.identifier, 'casa-agent-test');
    call.send({ type_url: TYPE_URL.cluster, response_nonce: r1.nonce });

    store.setSnapshot('envoy-1', { [TYPE_URL.cluster]: [cluster('a', 1), cluster('b')] });
    const r2 = await call.next();
    assert.deepEqual(
      r2.resources.map((r) => r.name),
      ['a'],
    );
    call.send({ type_url: TYPE_URL.cluster, response_nonce: r2.nonce, resource_names_subscribe: ['b'] });
    const r3 = await call.next();
    assert.deepEqual(
      r3.resources.map((r) => r.name),
      ['b'],
    );
    call.send({ type_url: TYPE_URL.cluster, response_nonce: r3.nonce });

    store.setSnapshot('envoy-1', { [TYPE_URL.cluster]: [cluster('b')] });
    const r4 = await call.next();
    assert.deepEqual(r4.resources ?? [], [], 'proto3: an empty list is absent on the wire');
    assert.deepEqual(r4.removed_resources, ['a']);
    call.send({ type_url: TYPE_URL.cluster, response_nonce: r4.nonce, resource_names_unsubscribe: ['b'] });
    const status = () => server.clients().find((c) => c.kind === 'delta');
    await waitFor(() => status()?.types[TYPE_URL.cluster]?.acked === r4.system_version_info);
    store.setSnapshot('envoy-1', { [TYPE_URL.cluster]: [cluster('b', 5)] });
    assert.equal(await call.quietFor(200), true, 'no update for an unsubscribed resource');
    assert.equal(status()?.node, 'envoy-1');
    assert.equal(status()?.userAgent, 'envoy/1.34.0');
    call.end();
    await waitFor(
      () => server.streamsOpen === 0,
      () => 'the half-closed stream ended',
    );
  });

  it('delta reconnect with initial_resource_versions sends only what changed meanwhile', async () => {
    store.setSnapshot('envoy-1', { [TYPE_URL.route]: [route('r1'), route('r2'), route('r3')] });
    const first = client.delta();
    first.send({ node, type_url: TYPE_URL.route, resource_names_subscribe: ['r1', 'r2', 'r3'] });
    const initial = await first.next();
    const versions = Object.fromEntries(initial.resources.map((r) => [r.name, r.version]));
    first.cancel(); // the connection drops

    store.setSnapshot('envoy-1', { [TYPE_URL.route]: [route('r1'), route('r2', 'moved')] });
    const again = client.delta();
    again.send({
      node,
      type_url: TYPE_URL.route,
      resource_names_subscribe: ['r1', 'r2', 'r3'],
      initial_resource_versions: versions,
    });
    const r = await again.next();
    assert.deepEqual(
      r.resources.map((x) => x.name),
      ['r2'],
    );
    assert.deepEqual(r.removed_resources, ['r3']);
    again.send({ type_url: TYPE_URL.route, response_nonce: r.nonce });
    assert.equal(await again.quietFor(200), true);
    again.end();
  });

  it('per-type RDS and ECDS streams (as Envoy opens them for Cilium listeners), type implied', async () => {
    store.setSnapshot('envoy-1', {
      [TYPE_URL.route]: [route('casa/egress-routes')],
      [TYPE_URL.extensionConfig]: [extensionConfig('casa/egress-gate')],
    });
    const rds = client.perTypeStream<object, DiscoveryResponse>(RDS, 'StreamRoutes');
    rds.send({ node, resource_names: ['casa/egress-routes'], type_url: TYPE_URL.route });
    const routes = await rds.next();
    assert.equal(routes.type_url, TYPE_URL.route);
    assert.equal(routes.resources.length, 1);
    const ecds = client.perTypeStream<object, DiscoveryResponse>(ECDS, 'StreamExtensionConfigs');
    ecds.send({ node, resource_names: ['casa/egress-gate'] });
    const gate = await ecds.next();
    assert.equal(gate.type_url, TYPE_URL.extensionConfig);
    // A NACK on ECDS: surfaced, not resent.
    ecds.send({
      response_nonce: gate.nonce,
      version_info: '',
      resource_names: ['casa/egress-gate'],
      error_detail: { code: 3, message: 'bad rbac' },
    });
    assert.equal(await ecds.quietFor(200), true);
    assert.equal(server.counters().nacks[TYPE_URL.extensionConfig], 1);
    const fetched = await client.fetch(RDS, 'FetchRoutes', { node, resource_names: ['casa/egress-routes'] });
    assert.equal(fetched.version_info, routes.version_info);
    assert.equal(fetched.resources.length, 1);
    rds.end();
    ecds.end();
  });

  it('ends a stream with INVALID_ARGUMENT for a foreign type_url or a missing node, and frees it', async () => {
    const wrongType = client.perTypeStream<object, DiscoveryResponse>(RDS, 'StreamRoutes');
    wrongType.send({ node, type_url: TYPE_URL.cluster });
    await assert.rejects(
      wrongType.next(),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT,
    );
    const noNode = client.sotw();
    noNode.send({ type_url: TYPE_URL.cluster });
    await assert.rejects(
      noNode.next(),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /node\.id/.test(err.details),
    );
    await waitFor(
      () => server.streamsOpen === 0,
      () => JSON.stringify(server.clients()),
    );
    assert.equal(store.watcherCount(), 0);
  });

  it('refuses streams beyond maxStreams with RESOURCE_EXHAUSTED', async () => {
    const calls = Array.from({ length: 50 }, () => client.sotw());
    for (const c of calls) c.send({ node, type_url: TYPE_URL.cluster });
    await waitFor(() => server.streamsOpen === 50);
    const extra = client.sotw();
    extra.send({ node, type_url: TYPE_URL.cluster });
    await assert.rejects(
      extra.next(),
      (err: grpc.ServiceError) => err.code === grpc.status.RESOURCE_EXHAUSTED,
    );
    for (const c of calls) c.cancel();
    await waitFor(() => server.streamsOpen === 0);
  });
});

async function waitFor(cond: () => boolean, explain = () => '', timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not reached in time ${explain()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
