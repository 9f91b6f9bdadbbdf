// SnapshotStore: versioned per-node snapshots, atomic replacement, change
// notification and bounded watcher bookkeeping — without gRPC.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnvoyJsonError } from '../../../src/envoy-xds/codec.js';
import {
  EMPTY_VERSION,
  type NodeSnapshot,
  resourceName,
  SnapshotStore,
} from '../../../src/envoy-xds/snapshot-store.js';
import { cluster, codec, endpoints, NODE, route, T } from './fixtures.js';

describe('SnapshotStore', () => {
  it('versions by content: identical content keeps every version, a change moves only its type', () => {
    const store = new SnapshotStore({ codec });
    const s1 = store.setSnapshot(NODE, {
      [T.cluster]: [cluster('a'), cluster('b')],
      [T.route]: [route('r')],
    });
    const s2 = store.setSnapshot(NODE, {
      [T.route]: [route('r')],
      [T.cluster]: [cluster('b'), cluster('a')],
    });
    assert.equal(s2, s1, 'the same content (in another order) is the same snapshot');
    const s3 = store.setSnapshot(NODE, {
      [T.cluster]: [cluster('a'), cluster('b', 9)],
      [T.route]: [route('r')],
    });
    assert.notEqual(s3.version, s1.version);
    assert.notEqual(s3.types.get(T.cluster)?.version, s1.types.get(T.cluster)?.version);
    assert.equal(s3.types.get(T.route)?.version, s1.types.get(T.route)?.version);
    assert.equal(
      s3.types.get(T.cluster)?.resources.get('a')?.version,
      s1.types.get(T.cluster)?.resources.get('a')?.version,
    );
    assert.notEqual(
      s3.types.get(T.cluster)?.resources.get('b')?.version,
      s1.types.get(T.cluster)?.resources.get('b')?.version,
    );
    const other = new SnapshotStore({ codec }).setSnapshot('elsewhere', {
      [T.route]: [route('r')],
      [T.cluster]: [cluster('a'), cluster('b')],
    });
    assert.equal(
      other.types.get(T.cluster)?.version,
      s1.types.get(T.cluster)?.version,
      'versions survive a restart',
    );
  });

  it('is atomic: an invalid resource leaves the previous snapshot and names the resource path', () => {
    const store = new SnapshotStore({ codec });
    const good = store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    assert.throws(
      () => store.setSnapshot(NODE, { [T.cluster]: [cluster('a'), { ...cluster('b'), lb_polcy: 'RANDOM' }] }),
      (err: unknown) =>
        err instanceof EnvoyJsonError &&
        err.path === `$["${T.cluster}"][1].lb_polcy` &&
        /did you mean "lb_policy"/.test(err.message),
    );
    assert.equal(store.snapshot(NODE), good);
  });

  it('refuses duplicate names, nameless resources and resources of another type', () => {
    const store = new SnapshotStore({ codec });
    assert.throws(
      () => store.setSnapshot(NODE, { [T.cluster]: [cluster('a'), cluster('a')] }),
      /duplicate resource name "a"/,
    );
    assert.throws(
      () => store.setSnapshot(NODE, { [T.cluster]: [{ type: 'STATIC' }] }),
      /needs a non-empty name/,
    );
    assert.throws(
      () => store.setSnapshot(NODE, { [T.cluster]: [{ '@type': T.route, name: 'r' }] }),
      /served as/,
    );
    assert.equal(store.snapshot(NODE), undefined);
  });

  it('names endpoints by cluster_name and everything else by name', () => {
    assert.equal(resourceName(T.endpoint, endpoints('eds-a', 1)), 'eds-a');
    assert.equal(resourceName(T.cluster, cluster('c')), 'c');
    assert.throws(() => resourceName(T.endpoint, { name: 'x' }), /cluster_name/);
  });

  it('accepts bare message names as type keys and gives absent types no entry', () => {
    const store = new SnapshotStore({ codec });
    const s = store.setSnapshot(NODE, { 'envoy.config.route.v3.RouteConfiguration': [route('r')] });
    assert.ok(s.types.get(T.route)?.resources.has('r'));
    assert.equal(s.types.get(T.cluster), undefined);
    assert.equal(store.setSnapshot('n2', { [T.cluster]: [] }).types.get(T.cluster)?.version, EMPTY_VERSION);
  });

  it('notifies watchers of changes only, and forgets them when they unsubscribe', () => {
    const store = new SnapshotStore({ codec });
    const seen: (NodeSnapshot | undefined)[] = [];
    const stop = store.watch(NODE, (s) => seen.push(s));
    const stopOther = store.watch('other-node', () => assert.fail('another node was notified'));
    assert.equal(store.watcherCount(), 2);
    store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    store.setSnapshot(NODE, { [T.cluster]: [cluster('b')] });
    assert.equal(seen.length, 2);
    assert.equal(store.clearSnapshot(NODE), true);
    assert.equal(seen.at(-1), undefined, 'clearing notifies with undefined');
    assert.equal(store.clearSnapshot(NODE), false);
    stop();
    stop();
    stopOther();
    assert.equal(store.watcherCount(), 0);
    assert.equal(store.watcherCount(NODE), 0);
  });

  it('keeps notifying the other watchers when one throws', () => {
    const errors: unknown[] = [];
    const store = new SnapshotStore({ codec, onListenerError: (err) => errors.push(err) });
    let called = 0;
    store.watch(NODE, () => {
      throw new Error('boom');
    });
    store.watch(NODE, () => called++);
    store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    assert.equal(called, 1);
    assert.equal(errors.length, 1);
  });

  it('bounds the number of nodes', () => {
    const store = new SnapshotStore({ codec, maxNodes: 2 });
    store.setSnapshot('n1', {});
    store.setSnapshot('n2', {});
    assert.throws(() => store.setSnapshot('n3', {}), /full/);
    store.setSnapshot('n2', { [T.cluster]: [cluster('a')] });
    store.clearSnapshot('n1');
    store.setSnapshot('n3', {});
    assert.deepEqual(store.nodes().sort(), ['n2', 'n3']);
  });

  it('holds private copies of encoded bytes and counts them', () => {
    const store = new SnapshotStore({ codec });
    const value = new Uint8Array(codec.encodeAny(cluster('a'), T.cluster).value);
    const s = store.setEncodedSnapshot(NODE, {
      [T.cluster]: [{ name: 'a', any: { type_url: T.cluster, value } }],
    });
    value.fill(0);
    const held = s.types.get(T.cluster)?.resources.get('a')?.any.value;
    assert.equal(codec.decodeAny({ type_url: T.cluster, value: held ?? new Uint8Array() }).name, 'a');
    assert.equal(s.bytes, value.length);
  });
});
