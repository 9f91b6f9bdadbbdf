// W3C traceparent parsing and formatting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatTraceparent, isSpanId, isTraceId, parseTraceparent } from '../../../src/policy/traceparent.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const P = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it('reads a version-00 header; the trace id is the 32-hex trace-id', () => {
    assert.deepEqual(parseTraceparent(`00-${T}-${P}-01`), {
      ok: true,
      context: { version: '00', traceId: T, parentId: P, flags: '01' },
    });
  });

  it('reads the first four fields of a future version, extra fields after "-"', () => {
    const r = parseTraceparent(`cc-${T}-${P}-01-what-the-future-holds`);
    assert.ok(r.ok);
    if (r.ok) assert.equal(r.context.traceId, T);
  });

  const invalid: [string, string][] = [
    ['', 'empty'],
    [`00-${T}-${P}-01-extra`, 'version 00 with a fifth field'],
    [`00-${T}-${P}-0`, 'short flags'],
    [`00-${T.toUpperCase()}-${P}-01`, 'upper-case trace-id'],
    [`00-${T}-${P.toUpperCase()}-01`, 'upper-case parent-id'],
    [`0A-${T}-${P}-01`, 'upper-case version'],
    [`ff-${T}-${P}-01`, 'version ff'],
    [`00-${'0'.repeat(32)}-${P}-01`, 'all-zero trace-id'],
    [`00-${T}-${'0'.repeat(16)}-01`, 'all-zero parent-id'],
    [`00_${T}_${P}_01`, 'wrong separators'],
    [`00-${T.slice(1)}x-${P}-01`, 'non-hex trace-id'],
    [`00-${T}-${P}-01,00-${T}-${P}-01`, 'two headers joined by Envoy'],
    [` 00-${T}-${P}-01`, 'leading space'],
    [`cc-${T}-${P}-01x`, 'future version with trailing data not after "-"'],
  ];
  for (const [value, why] of invalid) {
    it(`rejects ${why}`, () => assert.equal(parseTraceparent(value).ok, false));
  }
});

describe('formatTraceparent', () => {
  it('formats version 00 and parses back', () => {
    const v = formatTraceparent({ traceId: T, parentId: P });
    assert.equal(v, `00-${T}-${P}-01`);
    assert.ok(parseTraceparent(v).ok);
  });

  it('refuses ids that would not parse', () => {
    assert.throws(() => formatTraceparent({ traceId: '0'.repeat(32), parentId: P }), RangeError);
    assert.throws(() => formatTraceparent({ traceId: T, parentId: 'xyz' }), RangeError);
  });

  it('format ∘ parse is the identity on valid ids', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    fc.assert(
      fc.property(hex(32), hex(16), hex(2), (traceId, parentId, flags) => {
        fc.pre(isTraceId(traceId) && isSpanId(parentId));
        const r = parseTraceparent(formatTraceparent({ traceId, parentId, flags }));
        assert.deepEqual(r, { ok: true, context: { version: '00', traceId, parentId, flags } });
      }),
    );
  });

  it('never throws while parsing arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => void parseTraceparent(s)),
      { numRuns: 2000 },
    );
  });
});
