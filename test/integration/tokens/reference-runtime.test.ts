// The reference runtime speaks the casa profile faithfully: routes, form
// fields, response shapes, signed JWTs verifiable with its JWKS, and its
// in-process test hooks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { AppRegistry, ReferenceRuntime, type RuntimeApp } from '../../../src/agent/dev/runtime/index.js';
import { BANK, type CasaFixture, casaFixture, tokenChain } from './casa-fixture.js';

async function post(url: string, body: Record<string, string | string[]> | object, json = false) {
  let payload: string;
  if (json) payload = JSON.stringify(body);
  else {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(body)) for (const x of [v].flat()) form.append(k, String(x));
    payload = form.toString();
  }
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
    body: payload,
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

describe('reference runtime: tokens', () => {
  let f: CasaFixture;
  before(async () => {
    f = await casaFixture();
  });
  after(() => f.close());

  it('signs ES256 JWTs verifiable with /.well-known/jwks.json, with CASA-like claims', async () => {
    const { t1 } = await tokenChain(f);
    const jwks = createRemoteJWKSet(new URL(`${f.runtime.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(t1.accessToken, jwks, { issuer: f.runtime.url });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, f.web.credentials.clientId);
    assert.equal(payload.client_id, f.web.credentials.clientId);
    assert.equal(payload.app_id, f.web.appId);
    assert.equal(payload.mas_id, f.web.masId);
    assert.equal(payload.scope, 'openid offline_access');
    assert.equal(typeof payload.user_input_id, 'string');
    assert.equal(typeof payload.jti, 'string');
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300);
  });

  it('T3 carries call-tools, tools and the act chain (RFC 8693 §4.1)', async () => {
    const { t3 } = await tokenChain(f, ['get_balance']);
    const c = decodeJwt(t3.accessToken);
    assert.equal(c.scope, 'openid offline_access call-tools');
    assert.deepEqual(c.tools, ['get_balance']);
    assert.equal(c.sub, f.web.credentials.clientId);
    assert.deepEqual(c.act, {
      sub: f.accounts.credentials.clientId,
      act: { sub: f.orchestrator.credentials.clientId },
    });
  });

  it('the client_id is the client-metadata URL of the app, served by the runtime', async () => {
    assert.equal(f.web.credentials.clientId, `${f.runtime.url}/${f.web.appId}/oauth2/client-metadata.json`);
    const res = await fetch(f.web.credentials.clientId);
    assert.equal(res.status, 200);
    const meta = (await res.json()) as { client_id: string; grant_types: string[] };
    assert.equal(meta.client_id, f.web.credentials.clientId);
    assert.deepEqual(meta.grant_types, ['client_credentials']);
  });

  it('registers a prompt at /user-inputs and issues a T1 for its user_input_id', async () => {
    const input = await post(
      `${f.runtime.url}/user-inputs`,
      { app_id: f.web.appId, prompt: 'balance?', tag: 'a'.repeat(32) },
      true,
    );
    assert.equal(input.status, 200);
    const id = String(input.body.id);
    const tok = await post(`${f.runtime.url}/${f.web.appId}/oauth2/token`, {
      client_id: f.web.credentials.clientId,
      client_secret: f.web.credentials.clientSecret,
      user_input_id: id,
    });
    assert.equal(tok.status, 200);
    assert.deepEqual(Object.keys(tok.body), ['access_token'], 'CASA answers with access_token only');
    assert.equal(decodeJwt(String(tok.body.access_token)).user_input_id, id);
  });

  it('answers FastAPI-style 422 for missing fields and a wrong subject_token_type', async () => {
    const missing = await post(`${f.runtime.url}/${f.web.appId}/oauth2/token`, { client_id: 'x' });
    assert.equal(missing.status, 422);
    assert.deepEqual(
      (missing.body.detail as { loc: string[] }[]).map((d) => d.loc),
      [['body', 'client_secret']],
    );
    const neither = await post(`${f.runtime.url}/${f.web.appId}/oauth2/token`, {
      client_id: f.web.credentials.clientId,
      client_secret: f.web.credentials.clientSecret,
    });
    assert.equal(neither.status, 422);
    const { t1 } = await tokenChain(f);
    const wrongType = await post(`${f.runtime.url}/${f.orchestrator.appId}/oauth2/token_exchange`, {
      client_id: f.orchestrator.credentials.clientId,
      client_secret: f.orchestrator.credentials.clientSecret,
      subject_token: t1.accessToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    });
    assert.equal(wrongType.status, 422);
  });

  it("credentials must belong to the path's app", async () => {
    const r = await post(`${f.runtime.url}/${f.orchestrator.appId}/oauth2/token`, {
      client_id: f.web.credentials.clientId,
      client_secret: f.web.credentials.clientSecret,
      user_input: 'x',
    });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
  });

  it('introspection returns every CASA field, null when empty', async () => {
    const { t1 } = await tokenChain(f);
    const active = await post(`${f.runtime.url}/oauth2/introspect`, { token: t1.accessToken });
    for (const k of [
      'client_id',
      'scope',
      'sub',
      'act',
      'other',
      'exp',
      'user_input_id',
      'app_id',
      'mas_id',
      'tools',
      'active',
    ]) {
      assert.ok(k in active.body, k);
    }
    assert.equal(active.body.act, null);
    assert.equal(active.body.tools, null);
    const inactive = await post(`${f.runtime.url}/oauth2/introspect`, { token: 'x' });
    assert.equal(inactive.body.active, false);
    assert.equal(inactive.body.sub, null);
  });

  it('a token whose sub is an mcp_server is inactive (as CASA)', async () => {
    const t = await f.client.issueUserToken({
      appId: f.accounts.appId,
      credentials: f.accounts.credentials,
      userInput: 'x',
    });
    assert.deepEqual(await f.client.introspect(t.accessToken, undefined), { active: false });
  });

  it('a token signed by another runtime is inactive and cannot be exchanged', async () => {
    const other = await casaFixture();
    try {
      const foreign = (await tokenChain(other)).t1.accessToken;
      assert.deepEqual(await f.client.introspect(foreign, undefined), { active: false });
      await assert.rejects(
        f.client.exchange({
          appId: f.orchestrator.appId,
          credentials: f.orchestrator.credentials,
          subjectToken: foreign,
        }),
        { kind: 'rejected', runtimeReason: 'invalid_grant' },
      );
    } finally {
      await other.close();
    }
  });

  it('rejects request bodies over 1 MiB with 413', async () => {
    const r = await post(`${f.runtime.url}/oauth2/introspect`, { token: 'x'.repeat(1024 * 1024 + 1) });
    assert.equal(r.status, 413);
  });

  it('unknown routes are 404, wrong methods 405, both counted', async () => {
    const before = f.runtime.calls('not_found');
    assert.equal((await fetch(`${f.runtime.url}/nope`)).status, 404);
    assert.equal(f.runtime.calls('not_found'), before + 1);
    assert.equal((await fetch(`${f.runtime.url}/oauth2/introspect`)).status, 405);
  });
});

describe('reference runtime: clock, keys, lifecycle, hooks', () => {
  it('tokens expire on the runtime clock: inactive, and refused as subject', async () => {
    const clock = { now: Date.now() };
    const f = await casaFixture({ now: () => clock.now, tokenTtlSeconds: 60 });
    try {
      const { t1 } = await tokenChain(f);
      assert.equal((await f.client.introspect(t1.accessToken, undefined)).active, true);
      clock.now += 61_000;
      assert.deepEqual(await f.client.introspect(t1.accessToken, undefined), { active: false });
      await assert.rejects(
        f.client.exchange({
          appId: f.orchestrator.appId,
          credentials: f.orchestrator.credentials,
          subjectToken: t1.accessToken,
        }),
        { kind: 'rejected', runtimeReason: 'invalid_grant' },
      );
    } finally {
      await f.close();
    }
  });

  it('signs RS256 when asked', async () => {
    const f = await casaFixture({ alg: 'RS256' });
    try {
      const { t1 } = await tokenChain(f);
      assert.equal(decodeProtectedHeader(t1.accessToken).alg, 'RS256');
      assert.equal(f.runtime.jwks().keys[0]?.kty, 'RSA');
      assert.equal((await f.client.introspect(t1.accessToken, undefined)).active, true);
    } finally {
      await f.close();
    }
  });

  it('stop/start keeps the port, the keys, the apps and the trace cache', async () => {
    const f = await casaFixture();
    try {
      const { t2 } = await tokenChain(f);
      const key = {
        namespace: 'bank',
        traceId: 'c'.repeat(32),
        appHost: 'orchestrator:8000',
        appType: 'agent' as const,
      };
      await f.client.sharedTraceCache?.store(key, t2.accessToken);
      const port = f.runtime.port;
      await f.runtime.stop();
      assert.equal(f.runtime.running, false);
      await assert.rejects(f.client.introspect(t2.accessToken, undefined), { kind: 'unavailable' });
      await f.runtime.start();
      assert.equal(f.runtime.port, port);
      assert.equal((await f.client.introspect(t2.accessToken, undefined)).active, true);
      assert.equal(await f.client.sharedTraceCache?.load(key), t2.accessToken);
    } finally {
      await f.close();
    }
  });

  it('a stop during a delayed answer drops the request (the client sees no answer)', async () => {
    const f = await casaFixture({}, { timeoutMs: 5_000 });
    try {
      f.runtime.injectFault({ kind: 'delay', ms: 10_000 });
      const pending = f.client.introspect('x', undefined);
      await new Promise((r) => setTimeout(r, 50));
      await f.runtime.stop();
      await assert.rejects(
        pending,
        (e: unknown) =>
          (e as { kind?: string }).kind === 'unavailable' || (e as { kind?: string }).kind === 'bad_response',
      );
    } finally {
      await f.close();
    }
  });

  it('faults apply to the chosen endpoints and number of requests', async () => {
    const f = await casaFixture();
    try {
      f.runtime.injectFault({ kind: 'status', status: 500 }, { endpoints: ['introspect'], times: 2 });
      await f.client.ping();
      await assert.rejects(f.client.introspect('x', undefined), { kind: 'bad_response' });
      await assert.rejects(f.client.introspect('x', undefined), { kind: 'bad_response' });
      assert.deepEqual(await f.client.introspect('x', undefined), { active: false });
      const h = f.runtime.injectFault({ kind: 'html' });
      await assert.rejects(f.client.ping(), { kind: 'bad_response' });
      h.remove();
      await f.client.ping();
      assert.equal(f.runtime.calls('introspect'), 3);
      assert.equal(f.runtime.calls('health'), 3);
      f.runtime.resetCalls();
      assert.equal(f.runtime.calls(), 0);
    } finally {
      await f.close();
    }
  });

  it('load-token filters on tool only when one is given and returns the newest row', async () => {
    const f = await casaFixture();
    try {
      const shared = f.client.sharedTraceCache;
      assert.ok(shared);
      const key = {
        namespace: 'bank',
        traceId: 'd'.repeat(32),
        appHost: 'accounts-mcp:8000',
        appType: 'mcp_server' as const,
      };
      await shared.store({ ...key, tool: 'a' }, 'first');
      await shared.store({ ...key, tool: 'b' }, 'second');
      assert.equal(await shared.load({ ...key, tool: 'a' }), 'first');
      assert.equal(await shared.load(key), 'second');
      const bad = await post(`${f.runtime.url}/k8s/namespaces/bank/cache/store-token`, { trace_id: 1 }, true);
      assert.equal(bad.status, 422);
    } finally {
      await f.close();
    }
  });

  it("app ids and secrets can be chosen; the Secret is what CASA's operator writes, labelled with the app name", async () => {
    const rt = await ReferenceRuntime.start();
    try {
      const [web] = rt.registerMas(BANK, { appIds: { web: 'web-app' }, secrets: { web: 's3cret' } }) as [
        RuntimeApp,
      ];
      assert.equal(web.appId, 'web-app');
      assert.deepEqual(AppRegistry.secretFor(web), {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: {
          name: 'web-app-oauth2-credentials',
          namespace: 'bank',
          labels: {
            'app.kubernetes.io/managed-by': 'casa-operator',
            'casa.io/mas-name': 'banking',
            'casa.io/app-name': 'web',
          },
        },
        stringData: { client_id: `${rt.url}/web-app/oauth2/client-metadata.json`, client_secret: 's3cret' },
      });
      assert.throws(() => rt.registerMas(BANK, { appIds: { web: '../x' } }), /path-safe/);
    } finally {
      await rt.close();
    }
  });
});
