// Exchanged tokens per (trace, source, destination, tools, subject) until exp − skew.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExchangeCache, type ExchangeKey } from '../../../src/agent/tokens/exchange-cache.js';
import {
  type ExchangeRequest,
  type IssuedToken,
  RuntimeError,
} from '../../../src/agent/tokens/runtime-client.js';

const T0 = 1_700_000_000_000;
const KEY: ExchangeKey = { traceId: 'a'.repeat(32), sourceAppId: 'agent', destinationAppId: 'mcp' };
const REQ: ExchangeRequest = {
  appId: 'mcp',
  credentials: { clientId: 'c', clientSecret: 's' },
  subjectToken: 'subject-1',
  mcpServerUrl: 'http://mcp:8000/mcp',
  tools: ['get_balance'],
};

function setup(
  opts: { skewMs?: number; ttlWithoutExpMs?: number; maxEntries?: number; maxBytes?: number } = {},
) {
  const clock = { now: T0 };
  let n = 0;
  const runtime = {
    calls: 0,
    issue: (): IssuedToken => ({ accessToken: `t3-${++n}`, expiresAt: clock.now / 1000 + 300 }),
    exchange: async (_req: ExchangeRequest): Promise<IssuedToken> => {
      runtime.calls++;
      return runtime.issue();
    },
  };
  const cache = new ExchangeCache({
    runtime,
    skewMs: opts.skewMs ?? 15_000,
    ttlWithoutExpMs: opts.ttlWithoutExpMs,
    maxEntries: opts.maxEntries ?? 1000,
    maxBytes: opts.maxBytes ?? 1 << 20,
    now: () => clock.now,
  });
  return { clock, runtime, cache };
}

describe('ExchangeCache', () => {
  it('reuses an exchanged token until exp − skew', async () => {
    const { clock, runtime, cache } = setup();
    const first = await cache.exchange(KEY, REQ);
    assert.equal(first.source, 'miss');
    clock.now = T0 + 284_999;
    const again = await cache.exchange(KEY, REQ);
    assert.equal(again.source, 'hit');
    assert.equal(again.token.accessToken, first.token.accessToken);
    clock.now = T0 + 285_000;
    assert.equal((await cache.exchange(KEY, REQ)).source, 'miss');
    assert.equal(runtime.calls, 2);
  });

  const variations: [string, ExchangeKey, ExchangeRequest][] = [
    ['another trace', { ...KEY, traceId: 'b'.repeat(32) }, REQ],
    ['another source app', { ...KEY, sourceAppId: 'agent2' }, REQ],
    ['another destination app', { ...KEY, destinationAppId: 'mcp2' }, REQ],
    ['another tool', KEY, { ...REQ, tools: ['transfer'] }],
    ['no tool', KEY, { ...REQ, tools: undefined }],
    ['another subject token', KEY, { ...REQ, subjectToken: 'subject-2' }],
  ];
  for (const [name, key, req] of variations) {
    it(`exchanges again for ${name}`, async () => {
      const { runtime, cache } = setup();
      await cache.exchange(KEY, REQ);
      await cache.exchange(key, req);
      assert.equal(runtime.calls, 2);
    });
  }

  it('returns but does not keep a token that expires within the skew', async () => {
    const { clock, runtime, cache } = setup({ skewMs: 15_000 });
    runtime.issue = () => ({ accessToken: 'short', expiresAt: clock.now / 1000 + 10 });
    assert.equal((await cache.exchange(KEY, REQ)).token.accessToken, 'short');
    await cache.exchange(KEY, REQ);
    assert.equal(runtime.calls, 2);
  });

  it('does not keep a token of unknown lifetime unless told how long', async () => {
    const a = setup();
    a.runtime.issue = () => ({ accessToken: 'opaque' });
    await a.cache.exchange(KEY, REQ);
    await a.cache.exchange(KEY, REQ);
    assert.equal(a.runtime.calls, 2);
    const b = setup({ ttlWithoutExpMs: 10_000 });
    b.runtime.issue = () => ({ accessToken: 'opaque' });
    await b.cache.exchange(KEY, REQ);
    await b.cache.exchange(KEY, REQ);
    assert.equal(b.runtime.calls, 1);
  });

  it('shares one runtime call between concurrent identical exchanges', async () => {
    const { runtime, cache } = setup();
    const all = await Promise.all(Array.from({ length: 200 }, () => cache.exchange(KEY, REQ)));
    assert.equal(runtime.calls, 1);
    assert.equal(new Set(all.map((r) => r.token.accessToken)).size, 1);
  });

  it('never caches a refusal (e.g. tool_intent_mismatch)', async () => {
    const { runtime, cache } = setup();
    runtime.exchange = async () => {
      runtime.calls++;
      throw new RuntimeError('rejected', 'refused', 403, 'tool_intent_mismatch');
    };
    await assert.rejects(cache.exchange(KEY, REQ), {
      kind: 'rejected',
      runtimeReason: 'tool_intent_mismatch',
    });
    await assert.rejects(cache.exchange(KEY, REQ), { kind: 'rejected' });
    assert.equal(runtime.calls, 2);
  });

  it('keys hold no token', async () => {
    const { cache } = setup();
    await cache.exchange(KEY, REQ);
    const [k] = cache.keys();
    assert.ok(k && !k.includes('subject-1') && !k.includes('t3-'));
  });

  it('is bounded in entries and bytes', async () => {
    const { cache } = setup({ maxEntries: 32, maxBytes: 4096 });
    for (let i = 0; i < 500; i++) await cache.exchange({ ...KEY, traceId: String(i) }, REQ);
    assert.ok(cache.stats.entries <= 32);
    assert.ok(cache.stats.bytes <= 4096);
  });
});
