import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalIp } from '../../../src/agent/inventory/ip.js';

describe('canonicalIp: one spelling per address', () => {
  const cases: [string, string | undefined][] = [
    ['10.0.0.1', '10.0.0.1'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['FD00::1', 'fd00::1'],
    ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
    ['fd00:0000::0001', 'fd00::1'],
    ['[fd00::1]', 'fd00::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::FFFF:0a01:0203', '10.1.2.3'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['64:ff9b::10.0.0.1', '64:ff9b::a00:1'],
    ['010.0.0.1', undefined],
    ['10.0.0', undefined],
    ['not-an-ip', undefined],
    ['', undefined],
    ['fd00::1::2', undefined],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => {
      assert.equal(canonicalIp(input), want);
    });
  }

  const group = fc.integer({ min: 0, max: 0xffff });
  const groups = fc.array(group, { minLength: 8, maxLength: 8 });

  it('every spelling of an IPv6 address gives the same canonical text (property)', () => {
    fc.assert(
      fc.property(groups, fc.boolean(), fc.boolean(), (g, pad, upper) => {
        const full = g.map((x) => (pad ? x.toString(16).padStart(4, '0') : x.toString(16))).join(':');
        const spelled = upper ? full.toUpperCase() : full;
        const c = canonicalIp(spelled);
        assert.ok(c !== undefined);
        assert.equal(canonicalIp(c), c, 'canonical form is a fixed point');
        assert.ok(isIP(c) !== 0);
        // WHATWG URL serializes IPv6 hosts the RFC 5952 way: an independent oracle.
        const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
        if (!mapped) assert.equal(c, new URL(`http://[${spelled}]/`).hostname.slice(1, -1));
      }),
    );
  });

  it('canonical form never repeats `::`, never keeps leading zeros, is lower case (property)', () => {
    fc.assert(
      fc.property(groups, (g) => {
        const c = canonicalIp(g.map((x) => x.toString(16)).join(':')) ?? '';
        if (c.includes('.')) return; // IPv4-mapped → IPv4
        assert.ok(c.split('::').length <= 2);
        assert.equal(c, c.toLowerCase());
        for (const part of c.split(':')) assert.ok(part === '' || part === '0' || !part.startsWith('0'));
      }),
    );
  });

  it('arbitrary text never throws and yields either undefined or a valid IP (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const c = canonicalIp(s);
        if (c !== undefined) assert.ok(isIP(c) !== 0);
      }),
    );
  });
});
