// The rfc profile against a real OAuth 2.0 server (oidc-provider): RFC 8414 /
// OIDC discovery, RFC 7662 introspection with the agent's own client, RFC 8693
// token exchange, client_credentials for user-input tokens.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IntrospectionCache, RfcRuntimeClient, RuntimeError } from '../../../src/agent/tokens/index.js';
import { type OidcPeer, startOidcPeer, TOKEN_EXCHANGE } from './oidc-peer.js';

const transport = { timeoutMs: 2_000, concurrency: 8, queue: 100 };

describe('rfc client against oidc-provider', () => {
  let peer: OidcPeer;
  let client: RfcRuntimeClient;
  before(async () => {
    peer = await startOidcPeer();
    client = new RfcRuntimeClient({
      ...transport,
      issuer: peer.issuer,
      clientId: peer.agent.clientId,
      clientSecret: peer.agent.clientSecret,
    });
  });
  after(async () => {
    await client.close();
    await peer.close();
  });

  const t1 = () => client.issueUserToken({ appId: 'web', credentials: peer.web, userInput: 'balance?' });

  it('issues a user-input token with client_credentials (endpoints by discovery)', async () => {
    const t = await t1();
    assert.ok(t.accessToken.length > 20);
    assert.ok(t.expiresAt !== undefined && t.expiresAt > Date.now() / 1000 + 290);
  });

  it('introspects with the agent client (HTTP Basic, form-encoded secret)', async () => {
    const t = await t1();
    const c = await client.introspect(t.accessToken, undefined);
    assert.equal(c.active, true);
    assert.equal(c.clientId, 'web');
    assert.ok(c.exp !== undefined && c.iat !== undefined);
  });

  it('unknown tokens are inactive', async () => {
    assert.deepEqual(await client.introspect('not-a-token', undefined), { active: false });
  });

  it('exchanges per RFC 8693: tool scope, resource, audience, act chain', async () => {
    const subject = await t1();
    const t2 = await client.exchange({
      appId: 'orchestrator',
      credentials: peer.orchestrator,
      subjectToken: subject.accessToken,
      audienceAppId: 'orchestrator',
    });
    const t3 = await client.exchange({
      appId: 'accounts-mcp',
      credentials: peer.accounts,
      subjectToken: t2.accessToken,
      mcpServerUrl: 'http://accounts-mcp:8000/mcp',
      audienceAppId: 'accounts-mcp',
      tools: ['get_balance'],
    });
    const c = await client.introspect(t3.accessToken, ['get_balance']);
    assert.equal(c.active, true);
    assert.deepEqual(c.scope, ['call-tools', 'tool:get_balance']);
    assert.deepEqual(c.tools, ['get_balance'], 'tools come from tool:<name> scope values');
    assert.equal(c.sub, 'web', 'the original client stays the subject');
    assert.deepEqual(c.act, { sub: 'accounts-mcp', act: { sub: 'orchestrator' } });
    const sent = peer.grants.filter((g) => g.grantType === TOKEN_EXCHANGE).at(-1)?.params;
    assert.equal(sent?.resource, 'http://accounts-mcp:8000/mcp');
    assert.equal(sent?.audience, 'accounts-mcp');
    assert.equal(sent?.subject_token_type, 'urn:ietf:params:oauth:token-type:access_token');
    assert.equal(sent?.requested_token_type, 'urn:ietf:params:oauth:token-type:access_token');
  });

  it('an exchange without tools carries no tool scope', async () => {
    const subject = await t1();
    const t2 = await client.exchange({
      appId: 'orchestrator',
      credentials: peer.orchestrator,
      subjectToken: subject.accessToken,
    });
    const c = await client.introspect(t2.accessToken, undefined);
    assert.equal(c.active, true);
    assert.equal(c.scope, undefined);
    assert.equal(c.tools, undefined);
  });

  it('a refused exchange is rejected with the server reason code', async () => {
    const subject = await t1();
    await assert.rejects(
      client.exchange({
        appId: 'accounts-mcp',
        credentials: peer.accounts,
        subjectToken: subject.accessToken,
        tools: ['transfer'],
      }),
      { kind: 'rejected', status: 403, runtimeReason: 'tool_intent_mismatch' },
    );
  });

  it('an invalid subject token is rejected with invalid_grant', async () => {
    await assert.rejects(
      client.exchange({ appId: 'orchestrator', credentials: peer.orchestrator, subjectToken: 'bogus' }),
      { kind: 'rejected', runtimeReason: 'invalid_grant' },
    );
  });

  it('wrong app credentials are rejected with invalid_client', async () => {
    await assert.rejects(
      client.issueUserToken({
        appId: 'web',
        credentials: { clientId: 'web', clientSecret: 'nope' },
        userInput: 'x',
      }),
      { kind: 'rejected', status: 401, runtimeReason: 'invalid_client' },
    );
  });

  it("introspection with the wrong agent secret is rejected; with another app's client it is inactive (policy)", async () => {
    const t = await t1();
    const wrong = new RfcRuntimeClient({
      ...transport,
      issuer: peer.issuer,
      clientId: 'casa-agent',
      clientSecret: 'x',
    });
    const other = new RfcRuntimeClient({ ...transport, issuer: peer.issuer, ...peer.web });
    try {
      await assert.rejects(wrong.introspect(t.accessToken, undefined), {
        kind: 'rejected',
        runtimeReason: 'invalid_client',
      });
      assert.deepEqual(await other.introspect(t.accessToken, undefined), { active: false });
    } finally {
      await wrong.close();
      await other.close();
    }
  });

  it('a tool name that cannot be a scope value is refused before any request', async () => {
    const subject = await t1();
    const before = peer.grants.length;
    await assert.rejects(
      client.exchange({
        appId: 'accounts-mcp',
        credentials: peer.accounts,
        subjectToken: subject.accessToken,
        tools: ['a b'],
      }),
      { kind: 'rejected', runtimeReason: 'invalid_scope' },
    );
    assert.equal(peer.grants.length, before);
  });

  it('works through the introspection cache (one call for many lookups)', async () => {
    const t = await t1();
    const cache = new IntrospectionCache({ runtime: client, maxEntries: 10, maxBytes: 65536 });
    const all = await Promise.all(Array.from({ length: 100 }, () => cache.lookup(t.accessToken, undefined)));
    assert.ok(all.every((r) => r.claims.active));
    assert.equal(all.filter((r) => r.source === 'miss').length, 1);
  });

  it('has no shared trace cache: delegation is node-local in this profile', () => {
    assert.equal(client.sharedTraceCache, undefined);
  });

  it('ping reads the metadata document', async () => {
    await client.ping();
  });
});

describe('rfc client configuration and discovery', () => {
  it('uses configured endpoints without discovery', async () => {
    const peer = await startOidcPeer();
    const client = new RfcRuntimeClient({
      ...transport,
      tokenEndpoint: `${peer.issuer}/token`,
      introspectionEndpoint: `${peer.issuer}/token/introspection`,
      clientId: peer.agent.clientId,
      clientSecret: peer.agent.clientSecret,
    });
    try {
      const t = await client.issueUserToken({ appId: 'web', credentials: peer.web, userInput: 'x' });
      assert.equal((await client.introspect(t.accessToken, undefined)).active, true);
      await client.ping();
    } finally {
      await client.close();
      await peer.close();
    }
  });

  it('discovers an issuer with a path (OIDC discovery after the RFC 8414 location answers 404)', async () => {
    const peer = await startOidcPeer({ issuerPath: '/realms/casa' });
    const client = new RfcRuntimeClient({ ...transport, issuer: peer.issuer, ...peer.agent });
    try {
      const t = await client.issueUserToken({ appId: 'web', credentials: peer.web, userInput: 'x' });
      assert.equal((await client.introspect(t.accessToken, undefined)).active, true);
      assert.deepEqual(
        peer.paths.filter((p) => p.includes('/.well-known/')),
        [
          '/.well-known/oauth-authorization-server/realms/casa',
          '/realms/casa/.well-known/openid-configuration',
        ],
      );
    } finally {
      await client.close();
      await peer.close();
    }
  });

  it('prefers the RFC 8414 document when the server has one', async () => {
    const peer = await startOidcPeer({ issuerPath: '/as', rfc8414: true });
    const client = new RfcRuntimeClient({ ...transport, issuer: peer.issuer, ...peer.agent });
    try {
      const t = await client.issueUserToken({ appId: 'web', credentials: peer.web, userInput: 'x' });
      assert.equal((await client.introspect(t.accessToken, undefined)).active, true);
      const wellKnown = peer.paths.filter((p) => p.includes('/.well-known/'));
      assert.deepEqual(wellKnown, ['/.well-known/oauth-authorization-server/as']);
    } finally {
      await client.close();
      await peer.close();
    }
  });

  it('discovers once; concurrent first calls share the discovery', async () => {
    const peer = await startOidcPeer();
    const client = new RfcRuntimeClient({ ...transport, issuer: peer.issuer, ...peer.agent });
    try {
      await Promise.all(Array.from({ length: 20 }, () => client.introspect('x', undefined)));
      await client.introspect('y', undefined);
      assert.deepEqual(
        peer.paths.filter((p) => p.includes('/.well-known/')),
        ['/.well-known/oauth-authorization-server'],
      );
    } finally {
      await client.close();
      await peer.close();
    }
  });

  it('sends the prompt as an extension parameter only when configured', async () => {
    const peer = await startOidcPeer();
    const plain = new RfcRuntimeClient({ ...transport, issuer: peer.issuer, ...peer.agent });
    const bound = new RfcRuntimeClient({
      ...transport,
      issuer: peer.issuer,
      ...peer.agent,
      userTokenScope: 'user-input',
      userInputParameter: 'user_input',
    });
    try {
      const plainToken = await plain.issueUserToken({
        appId: 'web',
        credentials: peer.web,
        userInput: 'show balance',
      });
      assert.equal(peer.grants.at(-1)?.params.user_input, undefined);
      assert.equal((await plain.introspect(plainToken.accessToken, undefined)).scope, undefined);
      const t = await bound.issueUserToken({
        appId: 'web',
        credentials: peer.web,
        userInput: 'show balance',
      });
      assert.equal(peer.grants.at(-1)?.params.user_input, 'show balance');
      assert.deepEqual((await bound.introspect(t.accessToken, undefined)).scope, ['user-input']);
    } finally {
      await plain.close();
      await bound.close();
      await peer.close();
    }
  });

  it('the server being down at discovery is unavailable, and discovery is retried', async () => {
    const peer = await startOidcPeer();
    const issuer = peer.issuer;
    await peer.close();
    const client = new RfcRuntimeClient({ ...transport, issuer, ...peer.agent });
    try {
      await assert.rejects(
        client.introspect('x', undefined),
        (e: unknown) => e instanceof RuntimeError && e.kind === 'unavailable',
      );
      await assert.rejects(client.introspect('x', undefined), { kind: 'unavailable' });
    } finally {
      await client.close();
    }
  });

  it('refuses to start without credentials or a way to find endpoints', () => {
    assert.throws(
      () => new RfcRuntimeClient({ ...transport, issuer: 'http://x', clientId: '', clientSecret: 's' }),
      /rfcClientId/,
    );
    assert.throws(
      () => new RfcRuntimeClient({ ...transport, clientId: 'a', clientSecret: 's' }),
      /runtimeUrl/,
    );
  });
});
