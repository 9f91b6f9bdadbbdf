// The casa profile client against the reference runtime, over real HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReferenceRuntime } from '../../../src/agent/dev/runtime/index.js';
import {
  CasaRuntimeClient,
  IntrospectionCache,
  RuntimeError,
  type TraceTokenKey,
  TraceTokenStore,
} from '../../../src/agent/tokens/index.js';
import { BANK, type CasaFixture, casaFixture, tokenChain } from './casa-fixture.js';

describe('casa client against the reference runtime', () => {
  let f: CasaFixture;
  before(async () => {
    f = await casaFixture();
  });
  after(() => f.close());

  it('issues a T1 for a user prompt with the app credentials; exp comes from the JWT', async () => {
    const t1 = await f.client.issueUserToken({
      appId: f.web.appId,
      credentials: f.web.credentials,
      userInput: 'hi',
    });
    assert.ok(t1.accessToken.split('.').length === 3);
    const now = Date.now() / 1000;
    assert.ok(t1.expiresAt !== undefined && t1.expiresAt > now + 290 && t1.expiresAt <= now + 301);
    const c = await f.client.introspect(t1.accessToken, undefined);
    assert.equal(c.active, true);
    assert.equal(c.appId, f.web.appId);
    assert.equal(c.masId, f.web.masId);
    assert.equal(c.sub, f.web.credentials.clientId);
    assert.ok(c.userInputId);
    assert.deepEqual(c.scope, ['openid', 'offline_access']);
  });

  it('exchanges for a T3 with call-tools and the tools; the actor is the MCP server', async () => {
    const { t3 } = await tokenChain(f, ['get_balance']);
    const c = await f.client.introspect(t3.accessToken, ['get_balance']);
    assert.equal(c.active, true);
    assert.ok(c.scope?.includes('call-tools'));
    assert.deepEqual(c.tools, ['get_balance']);
    assert.equal(c.appId, f.accounts.appId);
    assert.equal(c.sub, f.web.credentials.clientId, 'the original client stays the subject');
    assert.equal((c.act as { sub?: string }).sub, f.accounts.credentials.clientId);
  });

  it('introspection says inactive when a requested tool is not in the token', async () => {
    const { t3 } = await tokenChain(f, ['get_balance']);
    assert.deepEqual(await f.client.introspect(t3.accessToken, ['transfer']), { active: false });
    assert.deepEqual(await f.client.introspect(t3.accessToken, ['get_balance', 'transfer']), {
      active: false,
    });
  });

  it('exchanging without tools gives a delegated token without call-tools', async () => {
    const { t2 } = await tokenChain(f);
    const c = await f.client.introspect(t2.accessToken, undefined);
    assert.equal(c.active, true);
    assert.ok(!c.scope?.includes('call-tools'));
    assert.equal(c.tools, undefined);
  });

  it('unknown, forged and garbage tokens are inactive', async () => {
    const { t1 } = await tokenChain(f);
    const [h, p] = t1.accessToken.split('.');
    for (const token of ['garbage', `${h}.${p}.AAAA`, 'a.b.c']) {
      assert.deepEqual(await f.client.introspect(token, undefined), { active: false });
    }
  });

  it('wrong credentials are rejected with the runtime reason', async () => {
    await assert.rejects(
      f.client.issueUserToken({
        appId: f.web.appId,
        credentials: { clientId: f.web.credentials.clientId, clientSecret: 'wrong' },
        userInput: 'x',
      }),
      (e: unknown) =>
        e instanceof RuntimeError && e.kind === 'rejected' && e.runtimeReason === 'invalid_client',
    );
  });

  it('an invalid subject token is rejected (invalid_grant)', async () => {
    await assert.rejects(
      f.client.exchange({
        appId: f.orchestrator.appId,
        credentials: f.orchestrator.credentials,
        subjectToken: 'nope',
      }),
      { kind: 'rejected', runtimeReason: 'invalid_grant', status: 400 },
    );
  });

  it('a runtime deny reason (tool_intent_mismatch) reaches the caller as rejected', async () => {
    f.runtime.setPolicy((ctx) =>
      ctx.tools.includes('transfer')
        ? { deny: 'tool_intent_mismatch', message: 'not what the user asked' }
        : undefined,
    );
    try {
      await assert.rejects(tokenChain(f, ['transfer']), (e: unknown) => {
        assert.ok(e instanceof RuntimeError);
        assert.equal(e.kind, 'rejected');
        assert.equal(e.runtimeReason, 'tool_intent_mismatch');
        assert.equal(e.status, 403);
        return true;
      });
    } finally {
      f.runtime.setPolicy(undefined);
    }
  });

  it('a policy that drops a tool yields a token without call-tools (CASA returns 200)', async () => {
    f.runtime.setPolicy(() => ({ approvedTools: [] }));
    try {
      const { t3 } = await tokenChain(f, ['get_balance']);
      const c = await f.client.introspect(t3.accessToken, undefined);
      assert.ok(!c.scope?.includes('call-tools'));
      assert.deepEqual(await f.client.introspect(t3.accessToken, ['get_balance']), { active: false });
    } finally {
      f.runtime.setPolicy(undefined);
    }
  });

  it('sends tools as one form field per tool', async () => {
    const { t3 } = await tokenChain(f, ['a', 'b']);
    assert.deepEqual((await f.client.introspect(t3.accessToken, ['a', 'b'])).tools, ['a', 'b']);
  });

  it("stores and loads trace tokens through the runtime's shared cache (404 = none)", async () => {
    const shared = f.client.sharedTraceCache;
    assert.ok(shared);
    const key: TraceTokenKey = {
      namespace: 'bank',
      traceId: '1'.repeat(32),
      appHost: 'orchestrator:8000',
      appType: 'agent',
    };
    assert.equal(await shared.load(key), undefined);
    const { t2 } = await tokenChain(f);
    await shared.store(key, t2.accessToken);
    assert.equal(await shared.load(key), t2.accessToken);
    assert.equal(await shared.load({ ...key, namespace: 'other' }), undefined);
    // CASA filters on tool only when one is given.
    const toolKey = {
      ...key,
      appHost: 'accounts-mcp:8000',
      appType: 'mcp_server' as const,
      tool: 'get_balance',
    };
    await shared.store(toolKey, t2.accessToken);
    assert.equal(await shared.load({ ...toolKey, tool: 'transfer' }), undefined);
    assert.equal(await shared.load({ ...toolKey, tool: undefined }), t2.accessToken);
  });

  it('two nodes share a trace token through the runtime (TraceTokenStore write-through/read-through)', async () => {
    const shared = f.client.sharedTraceCache;
    const nodeA = new TraceTokenStore({ shared, maxEntries: 100, maxBytes: 1 << 20 });
    const nodeB = new TraceTokenStore({ shared, maxEntries: 100, maxBytes: 1 << 20 });
    const key: TraceTokenKey = {
      namespace: 'bank',
      traceId: '2'.repeat(32),
      appHost: 'orchestrator:8000',
      appType: 'agent',
    };
    const { t2 } = await tokenChain(f);
    assert.equal(await nodeA.remember(key, t2.accessToken), 'shared');
    assert.deepEqual(await nodeB.find(key), { token: t2.accessToken, source: 'shared' });
  });

  it('1,000 concurrent introspections of one token make one runtime call', async () => {
    const { t3 } = await tokenChain(f);
    const cache = new IntrospectionCache({ runtime: f.client, maxEntries: 100, maxBytes: 1 << 20 });
    const before = f.runtime.calls('introspect');
    const all = await Promise.all(
      Array.from({ length: 1000 }, () => cache.lookup(t3.accessToken, ['get_balance'])),
    );
    assert.equal(f.runtime.calls('introspect') - before, 1);
    assert.ok(all.every((r) => r.claims.active));
  });

  it('a call that cannot be built (empty app id) still rejects with a RuntimeError, never throws synchronously', async () => {
    const p = f.client.exchange({ appId: '', credentials: f.orchestrator.credentials, subjectToken: 'x' });
    await assert.rejects(p, (e: unknown) => e instanceof RuntimeError && /app_id/.test(e.message));
  });

  it('ping succeeds against /health', async () => {
    await f.client.ping();
  });
});

describe('casa client with the documented /oauth/... paths', () => {
  it('works when the runtime serves /oauth/token, /oauth/token/exchange, /oauth/introspect', async () => {
    const paths = {
      token: '/oauth/token',
      exchange: '/oauth/token/exchange',
      introspect: '/oauth/introspect',
    };
    const f = await casaFixture(
      { paths },
      { tokenPath: paths.token, exchangePath: paths.exchange, introspectPath: paths.introspect },
    );
    try {
      const { t3 } = await tokenChain(f, ['get_balance']);
      assert.equal((await f.client.introspect(t3.accessToken, ['get_balance'])).active, true);
      assert.equal(f.runtime.calls('token'), 1);
      assert.equal(f.runtime.calls('token_exchange'), 2);
      assert.equal(f.runtime.calls('not_found'), 0);
    } finally {
      await f.close();
    }
  });

  it('with a base URL path prefix', async () => {
    const rt = await ReferenceRuntime.start({ paths: { introspect: '/casa/oauth2/introspect' } });
    const client = new CasaRuntimeClient({
      runtimeUrl: `${rt.url}/casa/`,
      timeoutMs: 1000,
      concurrency: 1,
      queue: 1,
    });
    try {
      assert.deepEqual(await client.introspect('x', undefined), { active: false });
      assert.equal(rt.calls('introspect'), 1);
    } finally {
      await client.close();
      await rt.close();
    }
  });
});

describe('casa client without the shared cache', () => {
  it('runtimeSharedCache=false leaves sharedTraceCache undefined', async () => {
    const f = await casaFixture({}, { sharedCache: false });
    try {
      assert.equal(f.client.sharedTraceCache, undefined);
      assert.equal(BANK.apps.length, 3);
    } finally {
      await f.close();
    }
  });
});
