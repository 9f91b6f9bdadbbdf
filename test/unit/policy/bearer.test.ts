// Exactly one RFC 6750 bearer token from `authorization`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { extractBearer, MAX_TOKEN_LENGTH } from '../../../src/policy/bearer.js';

const h = (v?: string) => new Map(v === undefined ? [] : [['authorization', v]]);

describe('extractBearer', () => {
  const accepted: [string, string][] = [
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['BeArEr abc', 'abc'],
    ['Bearer   abc', 'abc'],
    ['  Bearer abc\t', 'abc'],
    ['Bearer eyJhbGciOi.eyJzdWIi.c2ln-_~+/', 'eyJhbGciOi.eyJzdWIi.c2ln-_~+/'],
    ['Bearer YWJj==', 'YWJj=='],
  ];
  for (const [value, token] of accepted) {
    it(`accepts ${JSON.stringify(value)}`, () =>
      assert.deepEqual(extractBearer(h(value)), { ok: true, token }));
  }

  const rejected: [string | undefined, string][] = [
    [undefined, 'missing_token'],
    ['', 'malformed_token'],
    ['   ', 'malformed_token'],
    ['Bearer', 'malformed_token'],
    ['Bearer ', 'malformed_token'],
    ['Basic dXNlcjpwYXNz', 'malformed_token'],
    ['Token abc', 'malformed_token'],
    ['Bearerabc', 'malformed_token'],
    ['Bearer\tabc', 'malformed_token'],
    ['Bearer a b', 'malformed_token'],
    ['Bearer a=b', 'malformed_token'],
    ['Bearer a"b', 'malformed_token'],
    ['Bearer ab\u00e9', 'malformed_token'],
    [`Bearer ${'a'.repeat(MAX_TOKEN_LENGTH + 1)}`, 'malformed_token'],
    ['Bearer a,Bearer b', 'multiple_tokens'],
    ['Bearer a, Bearer b', 'multiple_tokens'],
    ['Bearer a,', 'multiple_tokens'],
    ['Basic x,Bearer b', 'multiple_tokens'],
  ];
  for (const [value, reason] of rejected) {
    it(`rejects ${JSON.stringify(value?.slice(0, 30))} with ${reason}`, () => {
      const r = extractBearer(h(value));
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.reason, reason);
    });
  }

  it('never accepts a token with characters outside b64token, never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (v) => {
        const r = extractBearer(h(v));
        if (r.ok) assert.match(r.token, /^[A-Za-z0-9\-._~+/]+=*$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips every valid b64token', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,64}={0,2}$/);
    fc.assert(
      fc.property(token, (t) => assert.deepEqual(extractBearer(h(`Bearer ${t}`)), { ok: true, token: t })),
    );
  });
});
