// x-envoy-peer-metadata: base64 (padded or not) of a protobuf
// google.protobuf.Struct — decoded with the real Struct type, checked against
// a header a real Istio sidecar sent, and refused (never guessed) otherwise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeStdBase64,
  MAX_PEER_METADATA_BYTES,
  PeerMetadataCodec,
} from '../../../src/agent/istio/peer-metadata.js';

const codec = new PeerMetadataCodec();

// Sent by the reviews-v3 sidecar of Istio 1.14.5's bookinfo sample to ratings,
// as published (with its decoded form) in a public write-up of Istio's
// metadata exchange (zhaohuabing.com, "Istio metrics deep dive", 2023).
const REVIEWS_V3 =
  'ChsKDkFQUF9DT05UQUlORVJTEgkaB3Jldmlld3MKGgoKQ0xVU1RFUl9JRBIMGgpLdWJlcm5ldGVzCh4KDElOU1RBTkNFX0lQUxIOGgwxNzIuMTYuMC4xMzMKGQoNSVNUSU9fVkVSU0lPThIIGgYxLjE0LjUK0wEKBkxBQkVMUxLIASrFAQoQCgNhcHASCRoHcmV2aWV3cwofChFwb2QtdGVtcGxhdGUtaGFzaBIKGgg1OGI2NDc5YgokChlzZWN1cml0eS5pc3Rpby5pby90bHNNb2RlEgcaBWlzdGlvCiwKH3NlcnZpY2UuaXN0aW8uaW8vY2Fub25pY2FsLW5hbWUSCRoHcmV2aWV3cworCiNzZXJ2aWNlLmlzdGlvLmlvL2Nhbm9uaWNhbC1yZXZpc2lvbhIEGgJ2MwoPCgd2ZXJzaW9uEgQaAnYzChoKB01FU0hfSUQSDxoNY2x1c3Rlci5sb2NhbAojCgROQU1FEhsaGXJldmlld3MtdjMtNThiNjQ3OWItNjJydjUKFgoJTkFNRVNQQUNFEgkaB2RlZmF1bHQKTgoFT1dORVISRRpDa3ViZXJuZXRlczovL2FwaXMvYXBwcy92MS9uYW1lc3BhY2VzL2RlZmF1bHQvZGVwbG95bWVudHMvcmV2aWV3cy12MwoXChFQTEFURk9STV9NRVRBREFUQRICKgAKHQoNV09SS0xPQURfTkFNRRIMGgpyZXZpZXdzLXYz';

describe('a header sent by a real Istio sidecar', () => {
  it('decodes to the workload, namespace, pod and labels it names', () => {
    const r = codec.decode(REVIEWS_V3);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.deepEqual(r.metadata, {
      name: 'reviews-v3-58b6479b-62rv5',
      namespace: 'default',
      workloadName: 'reviews-v3',
      owner: 'kubernetes://apis/apps/v1/namespaces/default/deployments/reviews-v3',
      clusterId: 'Kubernetes',
      labels: {
        app: 'reviews',
        'pod-template-hash': '58b6479b',
        'security.istio.io/tlsMode': 'istio',
        'service.istio.io/canonical-name': 'reviews',
        'service.istio.io/canonical-revision': 'v3',
        version: 'v3',
      },
    });
  });

  it('decodes the same without padding (CASA tries StdEncoding, then RawStdEncoding)', () => {
    const padded = codec.encode({ workloadName: 'planner', namespace: 'a' });
    assert.ok(padded.endsWith('='), 'a value whose length needs padding');
    const r = codec.decode(padded.replace(/=+$/, ''));
    assert.ok(r.ok);
    assert.equal(r.metadata.workloadName, 'planner');
  });
});

describe('a header that cannot be what a sidecar wrote is refused with the reason', () => {
  const cases: [string, string, RegExp][] = [
    ['empty', '', /empty/],
    ['URL-safe alphabet', urlSafe(), /base64/],
    ['stray characters Node would skip', `${REVIEWS_V3.slice(0, 40)}*${REVIEWS_V3.slice(40)}`, /base64/],
    ['padding at the wrong length', 'QUJD=', /base64/],
    ['impossible length (4n+1)', 'QUJDR', /base64/],
    ['bytes that are no protobuf Struct', Buffer.from([0x0a, 0xff, 0xff, 0xff]).toString('base64'), /Struct/],
    [
      'WORKLOAD_NAME that is not a string',
      // Struct{fields: {WORKLOAD_NAME: {number_value: 1}}}
      Buffer.from(structWithNumber('WORKLOAD_NAME')).toString('base64'),
      /WORKLOAD_NAME is not a string/,
    ],
    ['larger than any header Envoy forwards', 'A'.repeat(MAX_PEER_METADATA_BYTES * 2 + 4), /longer/],
  ];
  for (const [name, header, reason] of cases) {
    it(name, () => {
      const r = codec.decode(header);
      assert.equal(r.ok, false, `accepted: ${name}`);
      assert.match(r.ok ? '' : r.reason, reason);
    });
  }
});

/** A real header whose standard base64 holds '+' or '/', rewritten in the URL-safe alphabet. */
function urlSafe(): string {
  for (let i = 0; i < 64; i++) {
    const h = codec.encode({ workloadName: `w${'?'.repeat(i)}`, namespace: 'travel' });
    if (/[+/]/.test(h)) return h.replace(/\+/g, '-').replace(/\//g, '_');
  }
  throw new Error('no header with + or / found');
}

/** A Struct whose one field holds a number_value (field 2 of Value), built byte by byte. */
function structWithNumber(key: string): Uint8Array {
  const k = Buffer.from(key);
  const value = Buffer.from([0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]); // number_value = 1.0
  const entry = Buffer.concat([Buffer.from([0x0a, k.length]), k, Buffer.from([0x12, value.length]), value]);
  return Buffer.concat([Buffer.from([0x0a, entry.length]), entry]);
}

describe('remembered decodes', () => {
  it('the same header gives the same answer; the cache is bounded; refusals are not kept', () => {
    const c = new PeerMetadataCodec();
    const first = c.decode(REVIEWS_V3);
    const again = c.decode(REVIEWS_V3);
    assert.deepEqual(again, first);
    assert.ok(again.ok && Object.isFrozen(again.metadata) && Object.isFrozen(again.metadata.labels));
    for (let i = 0; i < 3000; i++) c.decode(c.encode({ workloadName: `w${i}`, namespace: 'travel' }));
    assert.ok(c.cachedEntries <= 1024, `${c.cachedEntries} entries`);
    const before = c.cachedEntries;
    c.decode('not base64!');
    assert.equal(c.cachedEntries, before);
  });
});

describe('properties', () => {
  const name = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/);
  const meta = fc.record(
    {
      name,
      namespace: name,
      workloadName: name,
      clusterId: fc.string({ minLength: 1, maxLength: 20 }),
      labels: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 40 }), {
        maxKeys: 8,
      }),
    },
    { requiredKeys: ['workloadName', 'labels'] },
  );

  it('what a sidecar encodes decodes to the same fields, padded or not', () => {
    fc.assert(
      fc.property(meta, fc.boolean(), (m, strip) => {
        const header = codec.encode(m);
        const r = codec.decode(strip ? header.replace(/=+$/, '') : header);
        assert.ok(r.ok);
        // fast-check builds null-prototype objects; compare as plain JSON objects.
        assert.deepEqual(r.metadata, JSON.parse(JSON.stringify(m)));
      }),
    );
  });

  it('arbitrary text or bytes never throw: a result, ok or with a reason', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64')),
        ),
        (s) => {
          const r = codec.decode(s);
          assert.equal(typeof r.ok, 'boolean');
          if (!r.ok) assert.ok(r.reason.length > 0);
        },
      ),
    );
  });

  it('strict base64 agrees with a reference decoder on valid input and rejects every non-alphabet character', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const std = Buffer.from(bytes).toString('base64');
        assert.deepEqual(decodeStdBase64(std), Buffer.from(bytes));
        assert.deepEqual(decodeStdBase64(std.replace(/=+$/, '')), Buffer.from(bytes));
      }),
    );
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 1 }).filter((c) => !/[A-Za-z0-9+/=\s]/.test(c)),
        (bad) => {
          assert.equal(decodeStdBase64(`QUJD${bad}`), undefined);
        },
      ),
    );
  });
});
