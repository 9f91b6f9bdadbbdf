// The proto3-JSON forms of Duration, Timestamp and FieldMask: parse and
// format are inverse, output is canonical, Timestamp agrees with Date.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  formatDuration,
  formatFieldMask,
  formatFloat32,
  formatTimestamp,
  parseDuration,
  parseFieldMask,
  parseTimestamp,
} from '../../../src/envoy-xds/well-known.js';

describe('Duration JSON', () => {
  const cases: [string, string, number, string][] = [
    ['0s', '0', 0, '0s'],
    ['0.25s', '0', 250_000_000, '0.250s'],
    ['1.000000001s', '1', 1, '1.000000001s'],
    ['-1.5s', '-1', -500_000_000, '-1.500s'],
    ['-0.5s', '0', -500_000_000, '-0.500s'],
    ['315576000000s', '315576000000', 0, '315576000000s'],
  ];
  for (const [text, seconds, nanos, canonical] of cases) {
    it(`reads ${text} as ${seconds}s ${nanos}ns and prints ${canonical}`, () => {
      assert.deepEqual(parseDuration(text), { seconds, nanos });
      assert.equal(formatDuration(seconds, nanos), canonical);
    });
  }
  for (const bad of ['1', '1.s', 's', '1.0000000000s', '315576000001s', ' 1s', '1e3s', '+1s']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseDuration(bad)));
  }
  it('parse(format(d)) = d for every valid duration', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -315_576_000_000n, max: 315_576_000_000n }),
        fc.integer({ min: 0, max: 999_999_999 }),
        (s, n) => {
          const nanos = s < 0n ? -n : n;
          assert.deepEqual(parseDuration(formatDuration(s.toString(), nanos)), {
            seconds: s.toString(),
            nanos: s === 0n ? nanos : nanos,
          });
        },
      ),
    );
  });
});

describe('Timestamp JSON', () => {
  it('agrees with Date for every millisecond instant Date can show', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59.999Z'),
          noInvalidDate: true,
        }),
        (d) => {
          const iso = d.toISOString();
          const { seconds, nanos } = parseTimestamp(iso);
          assert.equal(BigInt(seconds) * 1000n + BigInt(nanos / 1e6), BigInt(d.getTime()));
          const printed = formatTimestamp(seconds, nanos);
          assert.deepEqual(parseTimestamp(printed), { seconds, nanos });
          assert.equal(new Date(printed).getTime(), d.getTime());
        },
      ),
    );
  });
  it('applies UTC offsets', () => {
    assert.deepEqual(parseTimestamp('1970-01-01T01:00:00+01:00'), { seconds: '0', nanos: 0 });
    assert.deepEqual(parseTimestamp('1969-12-31T23:00:00.5-01:00'), { seconds: '0', nanos: 500_000_000 });
  });
  for (const bad of [
    '2024-13-01T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-01-01 00:00:00Z',
    '2024-01-01T00:00:00',
    '0000-12-31T23:59:59Z',
  ]) {
    it(`refuses ${bad}`, () => assert.throws(() => parseTimestamp(bad)));
  }
});

describe('FieldMask JSON and float32', () => {
  it('maps lowerCamelCase paths to snake_case and back', () => {
    assert.deepEqual(parseFieldMask('fooBar.bazQux,a'), ['foo_bar.baz_qux', 'a']);
    assert.equal(formatFieldMask(['foo_bar.baz_qux', 'a']), 'fooBar.bazQux,a');
    assert.deepEqual(parseFieldMask(''), []);
  });
  it('prints the shortest decimal that reads back as the same float32', () => {
    fc.assert(
      // -0 prints as 0 (JSON has no negative zero); every other float32 reads back exactly.
      fc.property(
        fc.float({ noNaN: true, noDefaultInfinity: true }).filter((f) => !Object.is(f, -0)),
        (f) => {
          const printed = formatFloat32(f);
          assert.equal(Math.fround(Number(printed)), f);
        },
      ),
    );
    assert.equal(formatFloat32(Math.fround(0.1)), 0.1);
  });
});
