// Runtime JSON → TokenClaims / IssuedToken: every field type-checked, errors
// name the field and never carry a value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_TOKEN_LENGTH, parseClaims, parseIssuedToken } from '../../../src/agent/tokens/claims.js';
import { RuntimeError } from '../../../src/agent/tokens/runtime-client.js';

const jwt = (payload: object) =>
  `eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;

function badResponse(fn: () => unknown, field?: string): RuntimeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RuntimeError, `expected a RuntimeError, got ${String(e)}`);
    assert.equal(e.kind, 'bad_response');
    if (field) assert.match(e.message, new RegExp(`"${field}"`));
    return e;
  }
  assert.fail('expected a bad_response');
}

describe('parseClaims', () => {
  it('reads the CASA introspection response (null fields are absent)', () => {
    const c = parseClaims({
      client_id: null,
      scope: 'openid offline_access call-tools',
      sub: 'http://rt/app1/oauth2/client-metadata.json',
      act: { sub: 'http://rt/app2/oauth2/client-metadata.json', act: null },
      other: null,
      exp: 1715000000,
      user_input_id: 'u1',
      app_id: 'app2',
      mas_id: 'm1',
      tools: ['get_balance'],
      active: true,
    });
    assert.deepEqual(c, {
      active: true,
      scope: ['openid', 'offline_access', 'call-tools'],
      sub: 'http://rt/app1/oauth2/client-metadata.json',
      exp: 1715000000,
      tools: ['get_balance'],
      appId: 'app2',
      masId: 'm1',
      userInputId: 'u1',
      act: { sub: 'http://rt/app2/oauth2/client-metadata.json', act: null },
    });
    assert.ok(Object.isFrozen(c));
  });

  it("reads CASA's inactive response (every field null) as inactive and nothing else", () => {
    const inactive = {
      client_id: null,
      scope: null,
      sub: null,
      act: null,
      other: null,
      exp: null,
      user_input_id: null,
      app_id: null,
      mas_id: null,
      tools: null,
      active: false,
    };
    assert.deepEqual(parseClaims(inactive), { active: false });
  });

  it('ignores other fields of an inactive answer, even ill-typed (RFC 7662 §2.2)', () => {
    assert.deepEqual(parseClaims({ active: false, exp: 'never', scope: 3 }), { active: false });
  });

  it('reads an RFC 7662 answer (scope string, client_id, iat, extra fields ignored)', () => {
    assert.deepEqual(
      parseClaims({ active: true, scope: 'a  b', client_id: 'c', iat: 1, exp: 2.5, aud: 'x', iss: 'y' }),
      { active: true, scope: ['a', 'b'], clientId: 'c', iat: 1, exp: 2.5 },
    );
  });

  it('accepts scope as an array of strings', () => {
    assert.deepEqual(parseClaims({ active: true, scope: ['a', 'b'] }).scope, ['a', 'b']);
  });

  const wrong: [string, object, string][] = [
    ['active missing', {}, 'active'],
    ['active as a string', { active: 'true' }, 'active'],
    ['active as a number', { active: 1 }, 'active'],
    ['exp as a string', { active: true, exp: '1700000000' }, 'exp'],
    ['exp negative', { active: true, exp: -1 }, 'exp'],
    ['iat as an object', { active: true, iat: {} }, 'iat'],
    ['scope as a number', { active: true, scope: 7 }, 'scope'],
    ['scope array with a number', { active: true, scope: ['a', 1] }, 'scope'],
    ['tools as a string', { active: true, tools: 'get_balance' }, 'tools'],
    ['tools with a number', { active: true, tools: ['a', 2] }, 'tools'],
    ['sub as an array', { active: true, sub: ['x'] }, 'sub'],
    ['client_id as a number', { active: true, client_id: 3 }, 'client_id'],
    ['app_id as a boolean', { active: true, app_id: true }, 'app_id'],
    ['mas_id as a number', { active: true, mas_id: 1 }, 'mas_id'],
    ['user_input_id as an object', { active: true, user_input_id: {} }, 'user_input_id'],
    ['act as a string', { active: true, act: '{"sub":"x"}' }, 'act'],
    ['act as an array', { active: true, act: [] }, 'act'],
  ];
  for (const [name, body, field] of wrong) {
    it(`rejects ${name} as bad_response naming "${field}"`, () => {
      badResponse(() => parseClaims(body), field);
    });
  }

  for (const body of [null, [], 'active', 42, true]) {
    it(`rejects a non-object body (${JSON.stringify(body)})`, () => {
      badResponse(() => parseClaims(body));
    });
  }

  it('never echoes a value in its error message', () => {
    const secret = 'eyJsecret.value.here';
    const e = badResponse(() => parseClaims({ active: true, sub: [secret] }), 'sub');
    assert.ok(!e.message.includes(secret));
  });

  it('property: any JSON gives claims or a bad_response, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              active: fc.oneof(fc.boolean(), fc.jsonValue()),
              scope: fc.oneof(fc.string(), fc.array(fc.string()), fc.jsonValue()),
              exp: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
              tools: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
              act: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
            },
            { requiredKeys: [] },
          ),
        ),
        (body) => {
          try {
            const c = parseClaims(body);
            assert.equal(typeof c.active, 'boolean');
            if (c.exp !== undefined) assert.ok(Number.isFinite(c.exp));
            for (const t of c.tools ?? []) assert.equal(typeof t, 'string');
            for (const s of c.scope ?? []) assert.equal(typeof s, 'string');
          } catch (e) {
            assert.ok(e instanceof RuntimeError && e.kind === 'bad_response');
          }
        },
      ),
    );
  });
});

describe('parseIssuedToken', () => {
  const NOW = 1_700_000_000;

  it('takes expiresAt from expires_in (RFC 6749 §5.1)', () => {
    assert.deepEqual(
      parseIssuedToken({ access_token: 'abc', token_type: 'Bearer', expires_in: 300 }, 'x', NOW),
      {
        accessToken: 'abc',
        expiresAt: NOW + 300,
      },
    );
  });

  it("takes expiresAt from the JWT's exp when the runtime sends only access_token (CASA)", () => {
    const t = jwt({ exp: NOW + 120 });
    assert.deepEqual(parseIssuedToken({ access_token: t }, 'x', NOW), {
      accessToken: t,
      expiresAt: NOW + 120,
    });
  });

  it('leaves expiresAt unset for an opaque token without expires_in', () => {
    assert.deepEqual(parseIssuedToken({ access_token: 'opaque' }, 'x', NOW), { accessToken: 'opaque' });
  });

  it('accepts RFC 8693 responses (issued_token_type access_token or jwt, token_type N_A)', () => {
    for (const issued of [
      'urn:ietf:params:oauth:token-type:access_token',
      'urn:ietf:params:oauth:token-type:jwt',
    ]) {
      assert.equal(
        parseIssuedToken({ access_token: 'a', issued_token_type: issued, token_type: 'N_A' }, 'x', NOW)
          .accessToken,
        'a',
      );
    }
  });

  const wrong: [string, object, string][] = [
    ['no access_token', {}, 'access_token'],
    ['an empty access_token', { access_token: '' }, 'access_token'],
    ['a numeric access_token', { access_token: 12345 }, 'access_token'],
    ['an access_token array', { access_token: ['a'] }, 'access_token'],
    ['a token with a space (header injection)', { access_token: 'a b' }, 'access_token'],
    ['a token with CRLF (header injection)', { access_token: 'a\r\nx-evil: 1' }, 'access_token'],
    ['an oversized token', { access_token: 'a'.repeat(MAX_TOKEN_LENGTH + 1) }, 'access_token'],
    ['a DPoP token_type', { access_token: 'a', token_type: 'DPoP' }, 'token_type'],
    ['a numeric token_type', { access_token: 'a', token_type: 1 }, 'token_type'],
    [
      'an id_token issued type',
      { access_token: 'a', issued_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
      'issued_token_type',
    ],
    ['a string expires_in', { access_token: 'a', expires_in: '300' }, 'expires_in'],
    ['a negative expires_in', { access_token: 'a', expires_in: -5 }, 'expires_in'],
  ];
  for (const [name, body, field] of wrong) {
    it(`rejects ${name} as bad_response naming "${field}"`, () => {
      badResponse(() => parseIssuedToken(body, 'exchange', NOW), field);
    });
  }

  it('property: whatever comes back, an accepted token is a b64token', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ access_token: fc.string() })), (body) => {
        try {
          const t = parseIssuedToken(body, 'x', NOW);
          assert.match(t.accessToken, /^[A-Za-z0-9\-._~+/]+=*$/);
        } catch (e) {
          assert.ok(e instanceof RuntimeError && e.kind === 'bad_response');
        }
      }),
    );
  });
});
