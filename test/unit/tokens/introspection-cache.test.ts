// The decided caching numbers (ARCHITECTURE.md §3): 30 s, never beyond exp,
// hashed keys, shared concurrent lookups, brief negative results, no cached
// errors, bounded in entries and bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IntrospectionCache } from '../../../src/agent/tokens/introspection-cache.js';
import { RuntimeError } from '../../../src/agent/tokens/runtime-client.js';
import type { TokenClaims } from '../../../src/policy/types.js';

const T0 = 1_700_000_000_000;

/** A runtime stand-in whose answers the test scripts; counts calls. */
class ScriptedRuntime {
  calls = 0;
  lastTools: readonly string[] | undefined;
  answer: (token: string) => Promise<TokenClaims> = async () => ({ active: true, exp: T0 / 1000 + 3600 });
  introspect = async (token: string, tools: readonly string[] | undefined): Promise<TokenClaims> => {
    this.calls++;
    this.lastTools = tools;
    return this.answer(token);
  };
}

function setup(opts: { maxEntries?: number; maxBytes?: number; negativeTtlMs?: number } = {}) {
  const clock = { now: T0 };
  const runtime = new ScriptedRuntime();
  const cache = new IntrospectionCache({
    runtime,
    maxEntries: opts.maxEntries ?? 1000,
    maxBytes: opts.maxBytes ?? 1 << 20,
    negativeTtlMs: opts.negativeTtlMs,
    now: () => clock.now,
  });
  return { clock, runtime, cache };
}

describe('IntrospectionCache', () => {
  it('serves an active result for 30 s, then asks the runtime again', async () => {
    const { clock, runtime, cache } = setup();
    assert.equal((await cache.lookup('tok', undefined)).source, 'miss');
    clock.now = T0 + 29_999;
    assert.equal((await cache.lookup('tok', undefined)).source, 'hit');
    clock.now = T0 + 30_000;
    assert.equal((await cache.lookup('tok', undefined)).source, 'miss');
    assert.equal(runtime.calls, 2);
  });

  it("never serves a result beyond the token's exp", async () => {
    const { clock, runtime, cache } = setup();
    runtime.answer = async () => ({ active: true, exp: T0 / 1000 + 10 });
    await cache.lookup('tok', undefined);
    clock.now = T0 + 9_999;
    assert.equal((await cache.lookup('tok', undefined)).source, 'hit');
    clock.now = T0 + 10_000;
    assert.equal((await cache.lookup('tok', undefined)).source, 'miss');
  });

  it('does not cache an active answer whose exp has already passed', async () => {
    const { runtime, cache } = setup();
    runtime.answer = async () => ({ active: true, exp: T0 / 1000 - 1 });
    await cache.lookup('tok', undefined);
    await cache.lookup('tok', undefined);
    assert.equal(runtime.calls, 2);
    assert.equal(cache.stats.entries, 0);
  });

  it('caches inactive results for negativeTtl only', async () => {
    const { clock, runtime, cache } = setup({ negativeTtlMs: 5_000 });
    runtime.answer = async () => ({ active: false });
    await cache.lookup('tok', undefined);
    clock.now = T0 + 4_999;
    assert.equal((await cache.lookup('tok', undefined)).claims.active, false);
    assert.equal(runtime.calls, 1);
    clock.now = T0 + 5_000;
    await cache.lookup('tok', undefined);
    assert.equal(runtime.calls, 2);
  });

  it('negativeTtl 0 caches no inactive result', async () => {
    const { runtime, cache } = setup({ negativeTtlMs: 0 });
    runtime.answer = async () => ({ active: false });
    await cache.lookup('tok', undefined);
    await cache.lookup('tok', undefined);
    assert.equal(runtime.calls, 2);
  });

  it('never caches an error', async () => {
    const { runtime, cache } = setup();
    runtime.answer = async () => {
      throw new RuntimeError('unavailable', 'down');
    };
    await assert.rejects(cache.lookup('tok', undefined), { kind: 'unavailable' });
    await assert.rejects(cache.lookup('tok', undefined), { kind: 'unavailable' });
    assert.equal(runtime.calls, 2);
    assert.equal(cache.stats.entries, 0);
  });

  it('keeps answering from cache while the runtime is down, until the 30 s end, then fails', async () => {
    const { clock, runtime, cache } = setup();
    await cache.lookup('tok', undefined);
    runtime.answer = async () => {
      throw new RuntimeError('unavailable', 'connection refused');
    };
    clock.now = T0 + 29_000;
    assert.equal((await cache.lookup('tok', undefined)).claims.active, true);
    clock.now = T0 + 30_000;
    await assert.rejects(cache.lookup('tok', undefined), { kind: 'unavailable' });
  });

  it('1,000 concurrent lookups of one token make exactly one runtime call', async () => {
    const { runtime, cache } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    runtime.answer = async () => {
      await gate;
      return { active: true, exp: T0 / 1000 + 60 };
    };
    const lookups = Array.from({ length: 1000 }, () => cache.lookup('tok', ['b', 'a']));
    release();
    const results = await Promise.all(lookups);
    assert.equal(runtime.calls, 1);
    assert.equal(results.filter((r) => r.source === 'miss').length, 1);
    assert.equal(results.filter((r) => r.source === 'joined').length, 999);
    assert.ok(results.every((r) => r.claims === results[0]?.claims));
    assert.equal(cache.stats.joined, 999);
  });

  it('a caller whose deadline fires gives up alone; the others get the shared answer', async () => {
    const { runtime, cache } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    runtime.answer = async () => {
      await gate;
      return { active: true };
    };
    const ctl = new AbortController();
    const impatient = cache.lookup('tok', undefined, { signal: ctl.signal });
    const patient = cache.lookup('tok', undefined);
    ctl.abort();
    await assert.rejects(impatient, { kind: 'timeout' });
    release();
    assert.equal((await patient).claims.active, true);
    assert.equal(runtime.calls, 1);
    assert.equal((await cache.lookup('tok', undefined)).source, 'hit');
  });

  it('keys on the token and the requested tools (order-insensitive)', async () => {
    const { runtime, cache } = setup();
    await cache.lookup('tok', ['a', 'b']);
    await cache.lookup('tok', ['b', 'a']);
    assert.equal(runtime.calls, 1);
    assert.deepEqual(runtime.lastTools, ['a', 'b']);
    await cache.lookup('tok', ['a']);
    await cache.lookup('tok', undefined);
    await cache.lookup('tok2', ['a', 'b']);
    assert.equal(runtime.calls, 4);
    // No tools and an empty list mean the same request.
    await cache.lookup('tok', []);
    assert.equal(runtime.calls, 4);
  });

  it('keys are SHA-256 hashes: no token appears in them', async () => {
    const { cache } = setup();
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    await cache.lookup(token, ['tool']);
    const keys = cache.keys();
    assert.equal(keys.length, 1);
    assert.match(keys[0] ?? '', /^[A-Za-z0-9_-]{43}$/);
    for (const part of token.split('.')) assert.ok(!keys[0]?.includes(part));
  });

  it('is bounded in entries (least recently used goes first)', async () => {
    const { runtime, cache } = setup({ maxEntries: 16 });
    for (let i = 0; i < 100; i++) await cache.lookup(`tok-${i}`, undefined);
    assert.equal(cache.stats.entries, 16);
    await cache.lookup('tok-99', undefined);
    assert.equal(runtime.calls, 100);
    await cache.lookup('tok-0', undefined);
    assert.equal(runtime.calls, 101);
  });

  it('is bounded in bytes', async () => {
    const { runtime, cache } = setup({ maxEntries: 10_000, maxBytes: 8 * 1024 });
    runtime.answer = async (t) => ({ active: true, sub: `${t}:${'x'.repeat(500)}`, tools: ['a', 'b', 'c'] });
    for (let i = 0; i < 200; i++) await cache.lookup(`tok-${i}`, undefined);
    const s = cache.stats;
    assert.ok(s.bytes <= 8 * 1024, `bytes ${s.bytes}`);
    assert.ok(s.entries > 1 && s.entries < 20, `entries ${s.entries}`);
  });

  it('an answer larger than the whole byte budget is returned but not kept', async () => {
    const { runtime, cache } = setup({ maxBytes: 1024 });
    runtime.answer = async () => ({ active: true, sub: 'x'.repeat(4096) });
    assert.equal((await cache.lookup('tok', undefined)).claims.active, true);
    assert.equal(cache.stats.entries, 0);
  });

  it('counts hits and misses', async () => {
    const { cache } = setup();
    await cache.lookup('a', undefined);
    await cache.lookup('a', undefined);
    await cache.lookup('a', undefined);
    await cache.lookup('b', undefined);
    const s = cache.stats;
    assert.equal(s.hits, 2);
    assert.equal(s.misses, 2);
    assert.equal(s.entries, 2);
    assert.ok(s.bytes > 0);
  });

  it('prune drops expired entries', async () => {
    const { clock, cache } = setup();
    await cache.lookup('a', undefined);
    clock.now = T0 + 31_000;
    assert.equal(cache.prune(), 1);
    assert.equal(cache.stats.entries, 0);
  });
});
