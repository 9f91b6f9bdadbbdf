// The token that arrived inbound at an app, remembered node-locally and (casa)
// written through to the runtime's shared cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuntimeError, type TraceTokenKey } from '../../../src/agent/tokens/runtime-client.js';
import { TraceTokenStore } from '../../../src/agent/tokens/trace-token-store.js';

const T0 = 1_700_000_000_000;
const KEY: TraceTokenKey = {
  namespace: 'bank',
  traceId: 'a'.repeat(32),
  appHost: 'agent:8000',
  appType: 'agent',
};
const jwt = (exp: number) =>
  `eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.c2ln`;

/** An in-memory stand-in for the runtime's /k8s cache API; failures scripted by the test. */
class SharedCache {
  rows = new Map<string, string>();
  stores = 0;
  loads = 0;
  failStore: RuntimeError | undefined;
  failLoad: RuntimeError | undefined;
  static k(key: TraceTokenKey) {
    return JSON.stringify([key.namespace, key.traceId, key.appHost, key.appType, key.tool ?? null]);
  }
  store = async (key: TraceTokenKey, token: string) => {
    this.stores++;
    if (this.failStore) throw this.failStore;
    this.rows.set(SharedCache.k(key), token);
  };
  load = async (key: TraceTokenKey) => {
    this.loads++;
    if (this.failLoad) throw this.failLoad;
    return this.rows.get(SharedCache.k(key));
  };
}

function setup(opts: { shared?: boolean; traceTtlMs?: number; maxEntries?: number; maxBytes?: number } = {}) {
  const clock = { now: T0 };
  const shared = new SharedCache();
  const store = new TraceTokenStore({
    shared: opts.shared === false ? undefined : shared,
    traceTtlMs: opts.traceTtlMs ?? 600_000,
    maxEntries: opts.maxEntries ?? 1000,
    maxBytes: opts.maxBytes ?? 1 << 20,
    now: () => clock.now,
  });
  return { clock, shared, store };
}

describe('TraceTokenStore', () => {
  it('remembers locally and writes through to the shared cache', async () => {
    const { shared, store } = setup();
    const t = jwt(T0 / 1000 + 300);
    assert.equal(await store.remember(KEY, t), 'shared');
    assert.deepEqual(await store.find(KEY), { token: t, source: 'local' });
    assert.equal(shared.rows.size, 1);
  });

  it('does not write the same token again (CASA rows are insert-only)', async () => {
    const { shared, store } = setup();
    const t = jwt(T0 / 1000 + 300);
    await store.remember(KEY, t);
    assert.equal(await store.remember(KEY, t), 'local');
    assert.equal(shared.stores, 1);
    assert.equal(await store.remember(KEY, jwt(T0 / 1000 + 301)), 'shared');
    assert.equal(shared.stores, 2);
  });

  it('a failed shared write does not fail: it reports shared_failed, keeps the token, and retries next time', async () => {
    const { shared, store } = setup();
    shared.failStore = new RuntimeError('unavailable', 'down');
    const t = jwt(T0 / 1000 + 300);
    assert.equal(await store.remember(KEY, t), 'shared_failed');
    assert.deepEqual(await store.find(KEY), { token: t, source: 'local' });
    assert.equal(store.stats.sharedStoreFailures, 1);
    shared.failStore = undefined;
    assert.equal(await store.remember(KEY, t), 'shared');
  });

  it('finds a token another node stored, through the shared cache, then locally', async () => {
    const a = setup();
    const b = new TraceTokenStore({
      shared: a.shared,
      maxEntries: 10,
      maxBytes: 65536,
      now: () => a.clock.now,
    });
    const t = jwt(T0 / 1000 + 300);
    await a.store.remember(KEY, t);
    assert.deepEqual(await b.find(KEY), { token: t, source: 'shared' });
    assert.deepEqual(await b.find(KEY), { token: t, source: 'local' });
    assert.equal(a.shared.loads, 1);
  });

  it('a shared miss is undefined and not remembered (another node may store it next)', async () => {
    const { shared, store } = setup();
    assert.equal(await store.find(KEY), undefined);
    assert.equal(await store.find(KEY), undefined);
    assert.equal(shared.loads, 2);
  });

  it('a failed shared load is an error for the caller to deny on', async () => {
    const { shared, store } = setup();
    shared.failLoad = new RuntimeError('timeout', 'slow');
    await assert.rejects(store.find(KEY), { kind: 'timeout' });
    assert.equal(store.stats.sharedLoadFailures, 1);
  });

  it('without a shared cache (rfc) delegation is node-local', async () => {
    const { shared, store } = setup({ shared: false });
    assert.equal(store.sharesAcrossNodes, false);
    assert.equal(await store.remember(KEY, jwt(T0 / 1000 + 300)), 'local');
    assert.equal(await store.find({ ...KEY, traceId: 'b'.repeat(32) }), undefined);
    assert.equal(shared.stores + shared.loads, 0);
  });

  it('keeps a token traceTtl at most, and never beyond its exp', async () => {
    const { clock, store } = setup({ shared: false, traceTtlMs: 60_000 });
    await store.remember(KEY, jwt(T0 / 1000 + 300));
    clock.now = T0 + 59_999;
    assert.ok(await store.find(KEY));
    clock.now = T0 + 60_000;
    assert.equal(await store.find(KEY), undefined);
    const k2 = { ...KEY, tool: 'x' };
    await store.remember(k2, 'opaque', { expiresAt: clock.now / 1000 + 5 });
    clock.now += 5_000;
    assert.equal(await store.find(k2), undefined);
  });

  it('does not keep an expired token', async () => {
    const { shared, store } = setup();
    assert.equal(await store.remember(KEY, jwt(T0 / 1000 - 1)), 'expired');
    assert.equal(shared.stores, 0);
  });

  it('keys on namespace, trace, host (case-insensitively), type and tool', async () => {
    const { store } = setup({ shared: false });
    await store.remember(KEY, 'tok');
    assert.ok(await store.find({ ...KEY, appHost: 'AGENT:8000' }));
    for (const other of [
      { ...KEY, namespace: 'x' },
      { ...KEY, traceId: 'b'.repeat(32) },
      { ...KEY, appHost: 'agent:8001' },
      { ...KEY, appType: 'client' as const },
      { ...KEY, tool: 't' },
    ]) {
      assert.equal(await store.find(other), undefined, JSON.stringify(other));
    }
  });

  it('is bounded in entries and bytes; keys hold no token', async () => {
    const { store } = setup({ shared: false, maxEntries: 20, maxBytes: 8192 });
    for (let i = 0; i < 300; i++)
      await store.remember({ ...KEY, traceId: String(i) }, `tok${'x'.repeat(400)}`);
    assert.ok(store.stats.entries <= 20);
    assert.ok(store.stats.bytes <= 8192);
    assert.ok(store.keys().every((k) => !k.includes('tok')));
  });
});
