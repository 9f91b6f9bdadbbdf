// JWT exp reading, cache key hashing, endpoint paths, discovery URLs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cacheKey } from '../../../src/agent/tokens/cache-key.js';
import { EndpointPath, endpointUrl, runtimeBaseUrl } from '../../../src/agent/tokens/endpoint-path.js';
import { jwtExpiry } from '../../../src/agent/tokens/jwt-expiry.js';
import { metadataUrls, parseMetadata } from '../../../src/agent/tokens/rfc-discovery.js';
import { RuntimeError } from '../../../src/agent/tokens/runtime-client.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('jwtExpiry', () => {
  const rows: [string, string, number | undefined][] = [
    ['a JWT with a numeric exp', `h.${b64({ exp: 1700 })}.s`, 1700],
    ['a JWT without exp', `h.${b64({ sub: 'x' })}.s`, undefined],
    ['a string exp', `h.${b64({ exp: '1700' })}.s`, undefined],
    ['an opaque token', 'opaque-token', undefined],
    ['two parts', `h.${b64({ exp: 1 })}`, undefined],
    ['four parts (JWE-like)', `h.${b64({ exp: 1 })}.s.x`, undefined],
    ['a payload that is not JSON', 'h.bm90IGpzb24.s', undefined],
    ['a JSON array payload', `h.${b64([1])}.s`, undefined],
  ];
  for (const [name, token, want] of rows) it(name, () => assert.equal(jwtExpiry(token), want));

  it('property: never throws', () => {
    fc.assert(fc.property(fc.string(), (s) => void jwtExpiry(s)));
  });
});

describe('cacheKey', () => {
  it('is a 43-character base64url SHA-256', () => assert.match(cacheKey('a', 'b'), /^[A-Za-z0-9_-]{43}$/));
  it('separates parts unambiguously', () => {
    assert.notEqual(cacheKey('ab', 'c'), cacheKey('a', 'bc'));
    assert.notEqual(cacheKey('a', undefined), cacheKey('a', ''));
    assert.notEqual(cacheKey('a'), cacheKey('a', ''));
  });
  it('property: equal parts, equal keys; different parts, different keys', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), fc.array(fc.string()), (a, b) => {
        assert.equal(cacheKey(...a) === cacheKey(...b), JSON.stringify(a) === JSON.stringify(b));
      }),
    );
  });
});

describe('EndpointPath', () => {
  const base = runtimeBaseUrl('http://runtime:8000');
  it('replaces {app_id}, percent-encoded', () => {
    const p = new EndpointPath(base, '/{app_id}/oauth2/token', 'runtimeTokenPath', ['app_id']);
    assert.equal(p.url({ app_id: 'a/b c' }).href, 'http://runtime:8000/a%2Fb%20c/oauth2/token');
  });
  it('keeps a base path prefix', () => {
    const p = new EndpointPath(runtimeBaseUrl('https://gw/casa/'), '/oauth/introspect', 'x', []);
    assert.equal(p.url().href, 'https://gw/casa/oauth/introspect');
  });
  it('rejects unknown placeholders naming the setting', () => {
    assert.throws(
      () => new EndpointPath(base, '/{appid}/token', 'runtimeTokenPath', ['app_id']),
      /runtimeTokenPath.*appid/,
    );
  });
  it('rejects a relative path or a query', () => {
    assert.throws(() => new EndpointPath(base, 'oauth/token', 'runtimeTokenPath', []), /runtimeTokenPath/);
    assert.throws(() => new EndpointPath(base, '/oauth/token?x=1', 'runtimeTokenPath', []), /query/);
  });
  it('refuses an empty placeholder value', () => {
    const p = new EndpointPath(base, '/{app_id}/oauth2/token', 'x', ['app_id']);
    assert.throws(() => p.url({ app_id: '' }), /app_id/);
  });
});

describe('runtime URLs', () => {
  for (const bad of ['ftp://x', 'not a url', 'http://u:p@x', 'http://x/?q=1']) {
    it(`runtimeUrl ${bad} is refused`, () => assert.throws(() => runtimeBaseUrl(bad), /runtimeUrl/));
  }
  it('an endpoint may carry a query but no fragment', () => {
    assert.equal(endpointUrl('https://kc/token?x=1', 'rfcTokenEndpoint').search, '?x=1');
    assert.throws(() => endpointUrl('https://kc/token#f', 'rfcTokenEndpoint'), /rfcTokenEndpoint/);
  });
});

describe('discovery', () => {
  it('RFC 8414 §3.1 inserts the well-known segment before the issuer path; OIDC appends', () => {
    assert.deepEqual(
      metadataUrls(new URL('https://as.example/realms/casa')).map((u) => u.href),
      [
        'https://as.example/.well-known/oauth-authorization-server/realms/casa',
        'https://as.example/realms/casa/.well-known/openid-configuration',
      ],
    );
    assert.deepEqual(
      metadataUrls(new URL('https://as.example/')).map((u) => u.href),
      [
        'https://as.example/.well-known/oauth-authorization-server',
        'https://as.example/.well-known/openid-configuration',
      ],
    );
  });

  const issuer = new URL('https://as.example/realms/casa');
  const src = new URL('https://as.example/.well-known/oauth-authorization-server/realms/casa');
  it('reads the endpoints', () => {
    const m = parseMetadata(
      {
        issuer: 'https://as.example/realms/casa',
        token_endpoint: 'https://as.example/t',
        introspection_endpoint: 'https://as.example/i',
      },
      issuer,
      src,
    );
    assert.equal(m.tokenEndpoint?.href, 'https://as.example/t');
    assert.equal(m.introspectionEndpoint?.href, 'https://as.example/i');
  });
  const bad: [string, unknown][] = [
    ['another issuer (RFC 8414 §3.3)', { issuer: 'https://evil.example/realms/casa' }],
    ['no issuer', { token_endpoint: 'https://as.example/t' }],
    ['a non-URL endpoint', { issuer: 'https://as.example/realms/casa', token_endpoint: 'nope' }],
    ['a numeric endpoint', { issuer: 'https://as.example/realms/casa', introspection_endpoint: 5 }],
    ['not an object', ['x']],
  ];
  for (const [name, body] of bad) {
    it(`refuses ${name} as bad_response`, () => {
      assert.throws(
        () => parseMetadata(body, issuer, src),
        (e: unknown) => e instanceof RuntimeError && e.kind === 'bad_response',
      );
    });
  }
});
