// Every way the runtime can fail yields the right RuntimeError kind — never a
// claims object or a token — and the client recovers once the runtime does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RuntimeEndpoint, RuntimeFault } from '../../../src/agent/dev/runtime/index.js';
import {
  CasaRuntimeClient,
  IntrospectionCache,
  RuntimeError,
  type RuntimeErrorKind,
} from '../../../src/agent/tokens/index.js';
import { type CasaFixture, casaFixture, tokenChain } from './casa-fixture.js';

const TEN_MB = 10 * 1024 * 1024;

type Op = 'introspect' | 'exchange' | 'issue_user_token' | 'load_trace_token';
const ENDPOINT: Record<Op, RuntimeEndpoint> = {
  introspect: 'introspect',
  exchange: 'token_exchange',
  issue_user_token: 'token',
  load_trace_token: 'load_token',
};

const FAULTS: [string, RuntimeFault, RuntimeErrorKind][] = [
  ['HTTP 500 text/plain (FastAPI unhandled exception)', { kind: 'status', status: 500 }, 'bad_response'],
  [
    'HTTP 502 JSON',
    { kind: 'status', status: 502, body: '{"error":"bad_gateway"}', contentType: 'application/json' },
    'bad_response',
  ],
  ['an HTML page with 200', { kind: 'html' }, 'bad_response'],
  ['JSON cut off mid-body (connection closed)', { kind: 'truncated_json' }, 'bad_response'],
  ['complete but malformed JSON', { kind: 'malformed_json' }, 'bad_response'],
  ['a 10 MB body, chunked', { kind: 'oversized', bytes: TEN_MB }, 'bad_response'],
  [
    'a 10 MB body with Content-Length',
    { kind: 'oversized', bytes: TEN_MB, declareLength: true },
    'bad_response',
  ],
  ['wrong JSON types', { kind: 'wrong_types' }, 'bad_response'],
  ['the connection closed without an answer', { kind: 'close_socket' }, 'unavailable'],
  ['the connection reset', { kind: 'reset' }, 'unavailable'],
  ['an answer slower than the deadline', { kind: 'delay', ms: 5_000 }, 'timeout'],
  [
    'a well-formed 403 refusal',
    {
      kind: 'status',
      status: 403,
      body: '{"error":"tool_intent_mismatch"}',
      contentType: 'application/json',
    },
    'rejected',
  ],
  [
    'an HTML 401 from a proxy',
    { kind: 'status', status: 401, body: '<html>no</html>', contentType: 'text/html' },
    'bad_response',
  ],
];

describe('runtime faults', () => {
  let f: CasaFixture;
  let subject: string;
  before(async () => {
    // Generous enough for a loaded CI machine; the delay fault below outlasts it.
    f = await casaFixture({}, { timeoutMs: 1_000 });
    subject = (await tokenChain(f)).t2.accessToken;
  });
  after(() => f.close());

  const call = (op: Op): Promise<unknown> => {
    switch (op) {
      case 'introspect':
        return f.client.introspect(subject, ['get_balance']);
      case 'exchange':
        return f.client.exchange({
          appId: f.accounts.appId,
          credentials: f.accounts.credentials,
          subjectToken: subject,
          tools: ['get_balance'],
        });
      case 'issue_user_token':
        return f.client.issueUserToken({
          appId: f.web.appId,
          credentials: f.web.credentials,
          userInput: 'x',
        });
      case 'load_trace_token':
        return (
          f.client.sharedTraceCache?.load({
            namespace: 'bank',
            traceId: 'f'.repeat(32),
            appHost: 'h',
            appType: 'agent',
          }) ?? Promise.resolve()
        );
    }
  };

  for (const op of Object.keys(ENDPOINT) as Op[]) {
    for (const [name, fault, kind] of FAULTS) {
      // 404 is an answer for load-token, and a 4xx refusal there is still "rejected".
      it(`${op}: ${name} → ${kind}`, async () => {
        f.runtime.injectFault(fault, { endpoints: [ENDPOINT[op]], times: 1 });
        await assert.rejects(call(op), (e: unknown) => {
          assert.ok(e instanceof RuntimeError, `not a RuntimeError: ${String(e)}`);
          assert.equal(e.kind, kind, e.message);
          assert.ok(!e.message.includes(subject), 'the message carries a token');
          assert.ok(!e.message.includes(f.web.credentials.clientSecret), 'the message carries a secret');
          return true;
        });
        // The pool recovers: the next call succeeds.
        f.runtime.clearFaults();
        await call(op);
      });
    }
  }
});

describe('runtime absent, lost, slow or saturated', () => {
  it('absent at start: unavailable; works once it is up', async () => {
    const f = await casaFixture({}, { timeoutMs: 500 });
    try {
      await f.runtime.stop();
      await assert.rejects(f.client.introspect('x', undefined), { kind: 'unavailable' });
      await assert.rejects(f.client.ping(), { kind: 'unavailable' });
      await f.runtime.start();
      assert.deepEqual(await f.client.introspect('x', undefined), { active: false });
      await f.client.ping();
    } finally {
      await f.close();
    }
  });

  it('lost mid-run: cached allows serve until their 30 s end, then the lookup fails; recovery after', async () => {
    const f = await casaFixture({}, { timeoutMs: 500 });
    const clock = { now: Date.now() };
    const cache = new IntrospectionCache({
      runtime: f.client,
      maxEntries: 100,
      maxBytes: 1 << 20,
      now: () => clock.now,
    });
    try {
      const { t3 } = await tokenChain(f);
      const start = clock.now;
      assert.equal((await cache.lookup(t3.accessToken, ['get_balance'])).claims.active, true);
      await f.runtime.stop();
      clock.now = start + 15_000;
      const during = await cache.lookup(t3.accessToken, ['get_balance']);
      assert.equal(during.source, 'hit');
      assert.equal(during.claims.active, true);
      // A token not cached before the outage fails at once.
      await assert.rejects(cache.lookup(t3.accessToken, undefined), { kind: 'unavailable' });
      clock.now = start + 30_000;
      await assert.rejects(cache.lookup(t3.accessToken, ['get_balance']), { kind: 'unavailable' });
      await f.runtime.start();
      assert.equal((await cache.lookup(t3.accessToken, ['get_balance'])).source, 'miss');
    } finally {
      await f.close();
    }
  });

  it('slow past the runtime deadline: timeout', async () => {
    const f = await casaFixture({}, { timeoutMs: 100 });
    try {
      f.runtime.injectFault({ kind: 'delay', ms: 2_000 });
      await assert.rejects(f.client.introspect('x', undefined), { kind: 'timeout' });
    } finally {
      await f.close();
    }
  });

  it("the caller's signal ends the call too (timeout), well before the runtime deadline", async () => {
    const f = await casaFixture({}, { timeoutMs: 10_000 });
    try {
      f.runtime.injectFault({ kind: 'delay', ms: 5_000 });
      await assert.rejects(
        f.client.introspect('x', undefined, { signal: AbortSignal.timeout(50) }),
        (e: unknown) => {
          assert.ok(e instanceof RuntimeError && e.kind === 'timeout');
          assert.match(e.message, /caller/);
          return true;
        },
      );
      const ctl = new AbortController();
      ctl.abort();
      await assert.rejects(f.client.introspect('x', undefined, { signal: ctl.signal }), { kind: 'timeout' });
    } finally {
      await f.close();
    }
  });

  it('a full queue refuses with overloaded; the admitted calls still complete', async () => {
    const f = await casaFixture({}, { timeoutMs: 5_000, concurrency: 1, queue: 2 });
    try {
      f.runtime.injectFault({ kind: 'delay', ms: 200 }, { endpoints: ['introspect'] });
      const admitted = [1, 2, 3].map(() => f.client.introspect('x', undefined));
      await assert.rejects(f.client.introspect('x', undefined), { kind: 'overloaded' });
      assert.equal(f.client.stats.overloaded, 1);
      for (const p of admitted) assert.deepEqual(await p, { active: false });
      assert.equal(f.runtime.calls('introspect'), 3);
    } finally {
      await f.close();
    }
  });

  it('a waiter whose deadline passes in the queue times out without reaching the runtime', async () => {
    const f = await casaFixture({}, { timeoutMs: 150, concurrency: 1, queue: 10 });
    try {
      f.runtime.injectFault({ kind: 'delay', ms: 1_000 }, { endpoints: ['introspect'] });
      const results = await Promise.allSettled([1, 2, 3].map(() => f.client.introspect('x', undefined)));
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.equal((r.reason as RuntimeError).kind, 'timeout');
      }
      assert.equal(f.runtime.calls('introspect'), 1);
    } finally {
      await f.close();
    }
  });

  it('a closed client refuses calls (unavailable)', async () => {
    const f = await casaFixture();
    const client = new CasaRuntimeClient({
      runtimeUrl: f.runtime.url,
      timeoutMs: 500,
      concurrency: 1,
      queue: 1,
    });
    await client.close();
    try {
      await assert.rejects(client.introspect('x', undefined), { kind: 'unavailable' });
    } finally {
      await f.close();
    }
  });

  it('an unresolvable host is unavailable', async () => {
    const client = new CasaRuntimeClient({
      runtimeUrl: 'http://casa-runtime.invalid:8000',
      timeoutMs: 2_000,
      concurrency: 1,
      queue: 1,
    });
    try {
      await assert.rejects(client.introspect('x', undefined), (e: unknown) => {
        assert.ok(e instanceof RuntimeError);
        assert.ok(e.kind === 'unavailable' || e.kind === 'timeout', e.kind);
        return true;
      });
    } finally {
      await client.close();
    }
  });
});
