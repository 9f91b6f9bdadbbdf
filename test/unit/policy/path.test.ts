// Path normalization: no spelling of a path slips past the protocol gate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_PATH_LENGTH, normalizePath } from '../../../src/policy/path.js';

function key(raw: string): string {
  const r = normalizePath(raw);
  assert.ok(r.ok, `expected ${JSON.stringify(raw)} to normalize, got ${JSON.stringify(r)}`);
  return r.key;
}

function reason(raw: string): string {
  const r = normalizePath(raw);
  assert.equal(r.ok, false, `expected ${JSON.stringify(raw)} to be invalid, got ${JSON.stringify(r)}`);
  return r.ok ? '' : r.reason;
}

describe('normalizePath: equivalent spellings normalize equal', () => {
  const spellings: [string, string][] = [
    ['/mcp', '/mcp'],
    ['/mcp/', '/mcp'],
    ['/MCP', '/mcp'],
    ['//mcp', '/mcp'],
    ['/mcp//', '/mcp'],
    ['/./mcp', '/mcp'],
    ['/a/../mcp', '/mcp'],
    ['/a/b/../../mcp', '/mcp'],
    ['/../../mcp', '/mcp'],
    ['/%6dcp', '/mcp'],
    ['/%6Dcp', '/mcp'],
    ['/%2E/mcp', '/mcp'],
    ['/%2e%2e/mcp', '/mcp'],
    ['/a/%2E%2E/mcp', '/mcp'],
    ['/a/.%2e/mcp', '/mcp'],
    ['/%2Fmcp', '/mcp'],
    ['/a%2F..%2Fmcp', '/mcp'],
    ['/mcp?sessionId=1', '/mcp'],
    ['/mcp#frag', '/mcp'],
    ['/mcp/?x=/../admin', '/mcp'],
    ['/mcp/.', '/mcp'],
    ['/mcp/x/..', '/mcp'],
    ['/', '/'],
    ['/.', '/'],
    ['/..', '/'],
    ['//', '/'],
    ['/?', '/'],
    ['/v1/message:send', '/v1/message:send'],
    ['/.well-known/agent-card.json', '/.well-known/agent-card.json'],
    ['/%2Ewell-known/agent.json', '/.well-known/agent.json'],
    ['/caf%C3%A9', '/café'],
  ];
  for (const [raw, want] of spellings) {
    it(`${JSON.stringify(raw)} → ${want}`, () => assert.equal(key(raw), want));
  }

  it('keeps the original case in `path` and lower-cases `key`', () => {
    const r = normalizePath('/V1/Tasks/AbC:cancel');
    assert.deepEqual(r, { ok: true, path: '/V1/Tasks/AbC:cancel', key: '/v1/tasks/abc:cancel' });
  });

  it('re-escapes %, ? and # that came from decoding', () => {
    assert.deepEqual(normalizePath('/a%3Fb%23c%25zz'), {
      ok: true,
      path: '/a%3Fb%23c%25zz',
      key: '/a%3fb%23c%25zz',
    });
  });
});

describe('normalizePath: ambiguous or malformed paths are invalid', () => {
  const cases: [string, string][] = [
    ['', 'not_origin_form'],
    ['mcp', 'not_origin_form'],
    ['*', 'not_origin_form'],
    ['http://host/mcp', 'not_origin_form'],
    ['?x', 'not_origin_form'],
    ['/mcp%', 'bad_percent_encoding'],
    ['/mcp%2', 'bad_percent_encoding'],
    ['/mcp%zz', 'bad_percent_encoding'],
    ['/mcp%2?x', 'bad_percent_encoding'],
    ['/%252e%252e/admin', 'double_encoding'],
    ['/mcp%252F', 'double_encoding'],
    ['/%25%32%46', 'double_encoding'],
    ['/%C3', 'bad_utf8'],
    ['/%FF', 'bad_utf8'],
    ['/%C0%AE', 'bad_utf8'],
    ['/mcp%00', 'control_char'],
    ['/mcp\u0000', 'control_char'],
    ['/mcp\n', 'control_char'],
    ['/mcp%0d%0a', 'control_char'],
    ['/mcp%7F', 'control_char'],
    ['/mcp\u0085', 'control_char'],
    ['/%C2%85', 'control_char'],
    ['/a\\..\\mcp', 'backslash'],
    ['/a%5C..%5Cmcp', 'backslash'],
    ['/a%5c', 'backslash'],
    [`/${'a'.repeat(MAX_PATH_LENGTH)}`, 'too_long'],
  ];
  for (const [raw, want] of cases) {
    it(`${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 20)}…` : raw)} → ${want}`, () =>
      assert.equal(reason(raw), want));
  }
});

// Arbitrary path text built from the characters that matter to normalization.
const pathChar = fc.constantFrom(
  'a',
  'B',
  'm',
  'c',
  'p',
  '/',
  '.',
  '%',
  '2',
  'e',
  'E',
  'f',
  'F',
  '5',
  'C',
  '?',
  '#',
  ':',
  '~',
  '\\',
  '\u0000',
  'é',
  '%2F',
  '%2e',
  '%25',
  '%3F',
  '%C3%A9',
);
const rawPath = fc.array(pathChar, { maxLength: 30 }).map((cs) => `/${cs.join('')}`);

describe('normalizePath: properties', () => {
  it('is idempotent (path and key)', () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const a = normalizePath(raw);
        if (!a.ok) return;
        const b = normalizePath(a.path);
        assert.ok(b.ok, `re-normalizing ${a.path} failed`);
        assert.equal(b.path, a.path);
        assert.equal(b.key, a.key);
        const c = normalizePath(a.key);
        assert.ok(c.ok);
        assert.equal(c.key, a.key);
      }),
      { numRuns: 3000 },
    );
  });

  it('never lets `..`, `.`, `//`, an encoded slash, a query or a fragment survive', () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const r = normalizePath(raw);
        if (!r.ok) return;
        const segs = r.key.split('/').slice(1);
        assert.ok(!segs.includes('..') && !segs.includes('.'), r.key);
        assert.ok(!r.key.includes('//'), r.key);
        assert.ok(!r.key.includes('%2f') && !r.key.includes('%2e') && !r.key.includes('%5c'), r.key);
        assert.ok(!r.key.includes('?') && !r.key.includes('#') && !r.key.includes('\\'), r.key);
        assert.ok(r.key === '/' || !r.key.endsWith('/'), r.key);
        assert.ok(r.key.startsWith('/'));
      }),
      { numRuns: 3000 },
    );
  });

  it('treats a percent-encoded spelling of a path like the path itself', () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9._~:-]{1,8}$/).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 5 }),
        fc.array(fc.boolean()),
        (segs, flags) => {
          const plain = `/${segs.join('/')}`;
          let i = 0;
          const encoded = `/${plain
            .slice(1)
            .replace(/./g, (ch) =>
              flags[i++ % Math.max(1, flags.length)]
                ? `%${ch.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`
                : ch,
            )}`;
          assert.equal(key(encoded), key(plain));
          assert.equal(key(`${plain}/`), key(plain));
          assert.equal(key(`/${plain}`), key(plain));
          assert.equal(key(`/x/..${plain}`), key(plain));
          assert.equal(key(`${plain}?q=1#f`), key(plain));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        normalizePath(s);
        normalizePath(`/${s}`);
      }),
      { numRuns: 2000 },
    );
  });
});
