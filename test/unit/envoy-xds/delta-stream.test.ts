// Incremental (delta) xDS rules on one stream, driven without gRPC
// (https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeltaDiscoveryResponse } from '../../../src/envoy-xds/discovery.js';
import { cluster, deltaHarness, endpoints, NODE, route, T } from './fixtures.js';

const node = { id: NODE };
const sent = (r: DeltaDiscoveryResponse | undefined) => r?.resources.map((x) => x.name) ?? [];

describe('Delta stream', () => {
  it('treats a first request subscribing to nothing as the wildcard and sends every resource', () => {
    const h = deltaHarness();
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('b'), cluster('a')] });
    h.stream.handle({ node, type_url: T.cluster });
    const [r] = h.take();
    assert.deepEqual(sent(r), ['a', 'b']);
    assert.deepEqual(r?.removed_resources, []);
    const a = h.store.snapshot(NODE)?.types.get(T.cluster)?.resources.get('a');
    assert.equal(r?.resources[0]?.version, a?.version, 'each resource carries its own version');
    assert.equal(r?.system_version_info, h.store.snapshot(NODE)?.types.get(T.cluster)?.version);
  });

  it('answers a first wildcard request even when there is nothing to send', () => {
    const h = deltaHarness();
    h.store.setSnapshot(NODE, {});
    h.stream.handle({ node, type_url: T.listener, resource_names_subscribe: ['*'] });
    const [r] = h.take();
    assert.deepEqual(r?.resources, []);
    assert.deepEqual(r?.removed_resources, []);
  });

  it('reports subscribed names that do not exist in removed_resources, once', () => {
    const h = deltaHarness();
    h.store.setSnapshot(NODE, { [T.route]: [route('r1')] });
    h.stream.handle({ node, type_url: T.route, resource_names_subscribe: ['r1', 'ghost'] });
    const [r] = h.take();
    assert.deepEqual(sent(r), ['r1']);
    assert.deepEqual(r?.removed_resources, ['ghost']);
    h.store.setSnapshot(NODE, { [T.route]: [route('r1'), route('other')] });
    assert.equal(h.take().length, 0, 'nothing subscribed changed');
    h.store.setSnapshot(NODE, { [T.route]: [route('r1'), route('ghost')] });
    assert.deepEqual(sent(h.take()[0]), ['ghost'], 'a subscribed name springing into existence is sent');
  });

  it('sends only what changed, and deletions as removed_resources', () => {
    const h = deltaHarness();
    h.store.setSnapshot(NODE, { [T.endpoint]: [endpoints('e1', 1), endpoints('e2', 2)] });
    h.stream.handle({ node, type_url: T.endpoint, resource_names_subscribe: ['e1', 'e2'] });
    h.take();
    h.store.setSnapshot(NODE, { [T.endpoint]: [endpoints('e1', 1), endpoints('e2', 22)] });
    const [r1] = h.take();
    assert.deepEqual(sent(r1), ['e2']);
    h.store.setSnapshot(NODE, { [T.endpoint]: [endpoints('e2', 22)] });
    const [r2] = h.take();
    assert.deepEqual(sent(r2), []);
    assert.deepEqual(r2?.removed_resources, ['e1']);
    h.store.setSnapshot(NODE, { [T.endpoint]: [endpoints('e2', 22), endpoints('e3', 3)] });
    assert.equal(h.take().length, 0, 'e3 is not subscribed, e1 already reported removed');
  });

  it('stops sending a resource once unsubscribed, and resends it when subscribed again', () => {
    const h = deltaHarness();
    h.store.setSnapshot(NODE, { [T.route]: [route('r1'), route('r2')] });
    h.stream.handle({ node, type_url: T.route, resource_names_subscribe: ['r1', 'r2'] });
    const [first] = h.take();
    h.stream.handle({ type_url: T.route, response_nonce: first?.nonce, resource_names_unsubscribe: ['r2'] });
    assert.equal(h.take().length, 0, 'a pure unsubscription needs no response');
    h.store.setSnapshot(NODE, { [T.route]: [route('r1'), route('r2', 'changed')] });
    assert.equal(h.take().length, 0);
    h.stream.handle({ type_url: T.route, resource_names_subscribe: ['r2', 'r1'] });
    assert.deepEqual(
      sent(h.take()[0]).sort(),
      ['r1', 'r2'],
      'named subscriptions are answered even if the client seems to have them',
    );
  });

  it('uses initial_resource_versions on reconnect: unchanged not resent, changed resent, vanished removed', () => {
    const h1 = deltaHarness();
    h1.store.setSnapshot(NODE, { [T.cluster]: [cluster('a'), cluster('b'), cluster('c')] });
    h1.stream.handle({ node, type_url: T.cluster, resource_names_subscribe: ['*'] });
    const known = Object.fromEntries((h1.take()[0]?.resources ?? []).map((r) => [r.name, r.version]));
    h1.stream.close();

    h1.store.setSnapshot(NODE, { [T.cluster]: [cluster('a'), cluster('b', 2), cluster('d')] });
    const h2 = deltaHarness({ store: h1.store, streamId: 's2' });
    h2.stream.handle({
      node,
      type_url: T.cluster,
      resource_names_subscribe: ['*'],
      initial_resource_versions: known,
    });
    const [r] = h2.take();
    assert.deepEqual(sent(r), ['b', 'd']);
    assert.deepEqual(r?.removed_resources, ['c']);
  });

  it('answers unsubscribing a name that the wildcard also covers with the resource, or its removal', () => {
    const h = deltaHarness();
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    h.stream.handle({ node, type_url: T.cluster, resource_names_subscribe: ['*', 'a', 'z'] });
    const [r0] = h.take();
    assert.deepEqual(sent(r0), ['a']);
    assert.deepEqual(r0?.removed_resources, ['z']);
    h.stream.handle({ type_url: T.cluster, resource_names_unsubscribe: ['a', 'z'] });
    const [r1] = h.take();
    assert.deepEqual(sent(r1), ['a'], 'a is still in the wildcard: the client must keep it');
    assert.deepEqual(r1?.removed_resources, ['z'], 'z is not');
  });

  it('parks a NACKed version, surfaces error_detail, and sends the next change normally', () => {
    const h = deltaHarness();
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    h.stream.handle({ node, type_url: T.cluster });
    const [r1] = h.take();
    h.stream.handle({ type_url: T.cluster, response_nonce: r1?.nonce });
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a', 9)] });
    const [bad] = h.take();
    h.stream.handle({
      type_url: T.cluster,
      response_nonce: bad?.nonce,
      error_detail: { code: 13, message: 'rejected a' },
    });
    h.stream.handle({
      type_url: T.cluster,
      response_nonce: bad?.nonce,
      error_detail: { code: 13, message: 'rejected a' },
    });
    assert.equal(h.nacks.length, 1);
    assert.equal(h.nacks[0]?.version, bad?.system_version_info);
    assert.equal(h.nacks[0]?.lastAcked, r1?.system_version_info);
    assert.equal(h.nacks[0]?.errorMessage, 'rejected a');
    assert.equal(h.take().length, 0, 'not resent');
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a', 10)] });
    assert.deepEqual(sent(h.take()[0]), ['a']);
  });

  it('honours subscription changes on a request with a stale nonce, and ACKs of older responses', () => {
    const h = deltaHarness();
    h.store.setSnapshot(NODE, { [T.route]: [route('r1'), route('r2')] });
    h.stream.handle({ node, type_url: T.route, resource_names_subscribe: ['r1'] });
    const [r1] = h.take();
    h.store.setSnapshot(NODE, { [T.route]: [route('r1', 'x'), route('r2')] });
    const [r2] = h.take();
    h.stream.handle({ type_url: T.route, response_nonce: r1?.nonce, resource_names_subscribe: ['r2'] });
    assert.deepEqual(sent(h.take()[0]), ['r2']);
    assert.equal(h.acks.length, 1, 'the older response was ACKed');
    h.stream.handle({ type_url: T.route, response_nonce: r2?.nonce });
    assert.equal(h.acks.length, 2);
    assert.equal(h.stream.status().types[T.route]?.acked, r2?.system_version_info);
  });
});
