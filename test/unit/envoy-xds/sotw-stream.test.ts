// State-of-the-world xDS rules on one stream, driven without gRPC.
// Each test is named after the rule of the xDS protocol it proves
// (https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XdsProtocolError } from '../../../src/envoy-xds/discovery.js';
import {
  cluster,
  endpoints,
  extensionConfig,
  listener,
  NODE,
  names,
  route,
  sotwHarness,
  T,
} from './fixtures.js';

const node = { id: NODE };

describe('SotW stream', () => {
  it('answers a first LDS request with no names (legacy wildcard) with every listener', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.listener]: [listener('b'), listener('a')] });
    h.stream.handle({ node, type_url: T.listener });
    const [r] = h.take();
    assert.deepEqual(names(r?.resources ?? []), ['a', 'b']);
    assert.equal(r?.version_info, h.store.snapshot(NODE)?.types.get(T.listener)?.version);
    assert.ok(r?.nonce);
  });

  it('answers a first CDS request even when the node has no clusters (completes the initial fetch)', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.route]: [route('r')] });
    h.stream.handle({ node, type_url: T.cluster });
    const [r] = h.take();
    assert.deepEqual(r?.resources, []);
  });

  it('waits while the node has no snapshot rather than claiming nothing exists', () => {
    const h = sotwHarness();
    h.stream.handle({ node, type_url: T.cluster });
    assert.equal(h.take().length, 0);
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    assert.deepEqual(names(h.take()[0]?.resources ?? []), ['a']);
  });

  it('sends nothing after an ACK until the snapshot changes; identical content is no change', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    h.stream.handle({ node, type_url: T.cluster });
    const [r1] = h.take();
    h.stream.handle({ type_url: T.cluster, version_info: r1?.version_info, response_nonce: r1?.nonce });
    assert.equal(h.acks.length, 1);
    assert.equal(h.acks[0]?.version, r1?.version_info);
    assert.equal(h.take().length, 0);
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    assert.equal(h.take().length, 0);
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a'), cluster('b')] });
    const [r2] = h.take();
    assert.deepEqual(names(r2?.resources ?? []), ['a', 'b']);
    assert.notEqual(r2?.nonce, r1?.nonce);
  });

  it('parks a NACKed version: reported once with error_detail, never resent, the next change sent normally', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    h.stream.handle({ node, type_url: T.cluster });
    const [good] = h.take();
    h.stream.handle({ type_url: T.cluster, version_info: good?.version_info, response_nonce: good?.nonce });
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a', 666)] });
    const [bad] = h.take();
    const nack = {
      type_url: T.cluster,
      version_info: good?.version_info,
      response_nonce: bad?.nonce,
      error_detail: { code: 3, message: 'cluster a: unsupported thing' },
    };
    h.stream.handle(nack);
    h.stream.handle(nack); // the client repeats its last request (e.g. to change names): one NACK
    h.stream.handle({ ...nack, error_detail: null }); // same nonce again without error: not an ACK either
    assert.equal(h.nacks.length, 1);
    assert.equal(h.acks.length, 1);
    const e = h.nacks[0];
    assert.equal(e?.version, bad?.version_info);
    assert.equal(e?.lastAcked, good?.version_info);
    assert.equal(e?.errorCode, 3);
    assert.equal(e?.errorMessage, 'cluster a: unsupported thing');
    assert.equal(h.take().length, 0, 'the NACKed version is not resent');
    const st = h.stream.status().types[T.cluster];
    assert.deepEqual(st, {
      sent: bad?.version_info,
      acked: good?.version_info,
      nacked: bad?.version_info,
      error: 'cluster a: unsupported thing',
    });

    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a', 7)] });
    const [fixed] = h.take();
    assert.ok(fixed, 'the next change is sent');
    h.stream.handle({ type_url: T.cluster, version_info: fixed?.version_info, response_nonce: fixed?.nonce });
    assert.deepEqual(h.stream.status().types[T.cluster], {
      sent: fixed?.version_info,
      acked: fixed?.version_info,
      nacked: undefined,
      error: undefined,
    });
  });

  it('ignores a request carrying a stale nonce entirely', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.endpoint]: [endpoints('e1', 1), endpoints('e2', 2)] });
    h.stream.handle({ node, type_url: T.endpoint, resource_names: ['e1'] });
    const [r1] = h.take();
    h.store.setSnapshot(NODE, { [T.endpoint]: [endpoints('e1', 11), endpoints('e2', 2)] });
    const [r2] = h.take();
    // The ACK of r1 (with a new name) arrives after r2 was sent: stale.
    h.stream.handle({
      type_url: T.endpoint,
      version_info: r1?.version_info,
      response_nonce: r1?.nonce,
      resource_names: ['e1', 'e2'],
    });
    assert.equal(h.acks.length, 0);
    assert.equal(h.take().length, 0);
    assert.equal(h.stream.staleRequests, 1);
    // The client then answers r2 with its full subscription.
    h.stream.handle({
      type_url: T.endpoint,
      version_info: r2?.version_info,
      response_nonce: r2?.nonce,
      resource_names: ['e1', 'e2'],
    });
    assert.equal(h.acks.length, 1);
    assert.deepEqual(names(h.take()[0]?.resources ?? []), ['e2']);
  });

  it('serves named types by name, sending only new or changed resources', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.route]: [route('r1'), route('r2'), route('r3')] });
    h.stream.handle({ node, type_url: T.route, resource_names: ['r1', 'missing'] });
    const [a] = h.take();
    assert.deepEqual(names(a?.resources ?? []), ['r1']);
    h.stream.handle({
      type_url: T.route,
      response_nonce: a?.nonce,
      version_info: a?.version_info,
      resource_names: ['r1', 'missing', 'r2'],
    });
    const [b] = h.take();
    assert.deepEqual(names(b?.resources ?? []), ['r2'], 'a newly subscribed name is sent alone');
    h.store.setSnapshot(NODE, {
      [T.route]: [route('r1', 'other'), route('r2'), route('r3', 'x'), route('missing')],
    });
    const [c] = h.take();
    assert.deepEqual(
      names(c?.resources ?? []),
      ['missing', 'r1'],
      'changed and newly existing, not r3 (unsubscribed)',
    );
  });

  it('resends a resource the client unsubscribed and then subscribes to again, even unchanged', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, {
      [T.extensionConfig]: [extensionConfig('gate-a'), extensionConfig('gate-b')],
    });
    h.stream.handle({ node, type_url: T.extensionConfig, resource_names: ['gate-a', 'gate-b'] });
    const [a] = h.take();
    h.stream.handle({
      type_url: T.extensionConfig,
      response_nonce: a?.nonce,
      version_info: a?.version_info,
      resource_names: ['gate-a'],
    });
    assert.equal(h.take().length, 0, 'unsubscribing needs no response');
    h.stream.handle({
      type_url: T.extensionConfig,
      response_nonce: a?.nonce,
      version_info: a?.version_info,
      resource_names: ['gate-a', 'gate-b'],
    });
    assert.deepEqual(names(h.take()[0]?.resources ?? []), ['gate-b']);
  });

  it('sends Listener/Cluster as the full set every time; a removed resource is left out', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a'), cluster('b')] });
    h.stream.handle({ node, type_url: T.cluster, resource_names: ['*'] });
    const [r1] = h.take();
    h.stream.handle({
      type_url: T.cluster,
      response_nonce: r1?.nonce,
      version_info: r1?.version_info,
      resource_names: ['*'],
    });
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a'), cluster('b', 2), cluster('c')] });
    assert.deepEqual(names(h.take()[0]?.resources ?? []), ['a', 'b', 'c']);
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a'), cluster('c')] });
    assert.deepEqual(names(h.take()[0]?.resources ?? []), ['a', 'c']);
    h.store.setSnapshot(NODE, { [T.route]: [route('r')] });
    assert.deepEqual(h.take()[0]?.resources, [], 'no clusters left: an empty response deletes them');
  });

  it('ends the legacy wildcard once names are given: an empty list then means "none"', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.listener]: [listener('a'), listener('b')] });
    h.stream.handle({ node, type_url: T.listener, resource_names: ['a'] });
    const [r1] = h.take();
    assert.deepEqual(names(r1?.resources ?? []), ['a']);
    h.stream.handle({
      type_url: T.listener,
      response_nonce: r1?.nonce,
      version_info: r1?.version_info,
      resource_names: [],
    });
    assert.equal(h.take().length, 0, 'unsubscribing from everything needs no response');
    h.store.setSnapshot(NODE, { [T.listener]: [listener('a', 'x'), listener('b', 'y')] });
    assert.equal(h.take().length, 0, 'and nothing is subscribed any more');
    h.stream.handle({
      type_url: T.listener,
      response_nonce: r1?.nonce,
      version_info: r1?.version_info,
      resource_names: ['*'],
    });
    assert.deepEqual(names(h.take()[0]?.resources ?? []), ['a', 'b'], 'an explicit "*" subscribes to all');
  });

  it('keeps each type of an aggregated stream independent (versions, nonces, ACKs)', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a')], [T.endpoint]: [endpoints('a', 1)] });
    h.stream.handle({ node, type_url: T.cluster });
    const [c] = h.take();
    h.stream.handle({ type_url: T.endpoint, resource_names: ['a'] });
    const [e] = h.take();
    h.stream.handle({
      type_url: T.endpoint,
      response_nonce: e?.nonce,
      version_info: e?.version_info,
      resource_names: ['a'],
    });
    h.stream.handle({
      type_url: T.cluster,
      response_nonce: c?.nonce,
      version_info: c?.version_info,
      error_detail: { message: 'no' },
    });
    assert.equal(h.acks.length, 1);
    assert.equal(h.acks[0]?.typeUrl, T.endpoint);
    assert.equal(h.nacks[0]?.typeUrl, T.cluster);
    assert.equal(h.stream.status().types[T.endpoint]?.acked, e?.version_info);
  });

  it('implies the type on a per-type service and refuses another one', () => {
    const h = sotwHarness({ fixedTypeUrl: T.route });
    h.store.setSnapshot(NODE, { [T.route]: [route('r')] });
    h.stream.handle({ node, resource_names: ['r'] });
    assert.equal(h.take()[0]?.type_url, T.route);
    assert.throws(
      () => h.stream.handle({ type_url: T.cluster }),
      (e: unknown) => e instanceof XdsProtocolError && e.code === 3,
    );
  });

  it('requires node.id on the first request, unless nodeKey maps the node', () => {
    assert.throws(() => sotwHarness().stream.handle({ type_url: T.cluster }), /node.id/);
    assert.throws(() => sotwHarness().stream.handle({ node, type_url: '' }), /type_url/);
    const h = sotwHarness({ nodeKey: () => 'shared' });
    h.store.setSnapshot('shared', { [T.cluster]: [cluster('a')] });
    h.stream.handle({ type_url: T.cluster });
    assert.equal(h.take().length, 1);
  });

  it('bounds types and names per stream', () => {
    const h = sotwHarness({ limits: { maxTypesPerStream: 2, maxNamesPerType: 2 } });
    h.stream.handle({ node, type_url: T.route, resource_names: ['a', 'b'] });
    assert.throws(
      () => h.stream.handle({ type_url: T.route, resource_names: ['a', 'b', 'c'] }),
      (e: unknown) => e instanceof XdsProtocolError && e.code === 8,
    );
    h.stream.handle({ type_url: T.cluster });
    assert.throws(() => h.stream.handle({ type_url: T.endpoint }), /more than 2 resource types/);
  });

  it('coalesces changes while the transport is full and sends the latest state on resume', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    h.accept = false;
    h.stream.handle({ node, type_url: T.cluster });
    assert.equal(h.take().length, 1, 'the response that filled the buffer was still handed over');
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('b')] });
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('c')] });
    assert.equal(h.take().length, 0);
    h.accept = true;
    h.stream.resume();
    const out = h.take();
    assert.equal(out.length, 1);
    assert.deepEqual(names(out[0]?.resources ?? []), ['c']);
  });

  it('drops its watch and sends nothing once closed', () => {
    const h = sotwHarness();
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('a')] });
    h.stream.handle({ node, type_url: T.cluster });
    assert.equal(h.store.watcherCount(), 1);
    h.take();
    h.stream.close();
    h.stream.close();
    assert.equal(h.store.watcherCount(), 0);
    h.store.setSnapshot(NODE, { [T.cluster]: [cluster('b')] });
    h.stream.handle({ type_url: T.cluster });
    assert.equal(h.take().length, 0);
    assert.deepEqual(h.stream.status().types, {});
  });
});
