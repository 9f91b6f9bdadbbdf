// EnvoyCodec: the proto3-JSON mapping rules it implements, and that every
// input it cannot map is refused with an error naming the JSON path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnvoyCodec, type EnvoyJson, EnvoyJsonError } from '../../../src/envoy-xds/codec.js';

const codec = new EnvoyCodec();
const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const ROUTE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';

const roundTrip = (typeUrl: string, json: EnvoyJson) => codec.decodeAny(codec.encodeAny(json, typeUrl));
const hex = (typeUrl: string, json: EnvoyJson) =>
  Buffer.from(codec.encodeAny(json, typeUrl).value).toString('hex');

function refusal(typeUrl: string, json: EnvoyJson): EnvoyJsonError {
  try {
    codec.encodeAny(json, typeUrl);
  } catch (err) {
    assert.ok(err instanceof EnvoyJsonError, `expected EnvoyJsonError, got ${err}`);
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(json)}`);
}

describe('EnvoyCodec encodes proto3 JSON', () => {
  it('puts a Duration on the wire as seconds/nanos (byte-exact)', () => {
    // Cluster.name = 1, Cluster.connect_timeout = 4; Duration.nanos = 2.
    assert.equal(hex(CLUSTER, { name: 'c', connect_timeout: '0.25s' }), `0a0163` + `2205` + `1080e59a77`);
  });

  const accepted: [string, string, EnvoyJson, EnvoyJson][] = [
    [
      'snake_case names',
      CLUSTER,
      { name: 'c', per_connection_buffer_limit_bytes: 10 },
      { name: 'c', per_connection_buffer_limit_bytes: 10 },
    ],
    [
      'lowerCamelCase names (as protojson accepts)',
      CLUSTER,
      { name: 'c', perConnectionBufferLimitBytes: 10 },
      { name: 'c', per_connection_buffer_limit_bytes: 10 },
    ],
    [
      'enums by name',
      CLUSTER,
      { name: 'c', lb_policy: 'LEAST_REQUEST' },
      { name: 'c', lb_policy: 'LEAST_REQUEST' },
    ],
    ['enums by number', CLUSTER, { name: 'c', lb_policy: 1 }, { name: 'c', lb_policy: 'LEAST_REQUEST' }],
    [
      'wrapper types as bare scalars',
      CLUSTER,
      { name: 'c', per_connection_buffer_limit_bytes: 0 },
      { name: 'c', per_connection_buffer_limit_bytes: 0 },
    ],
    [
      'durations with fractions',
      CLUSTER,
      { name: 'c', connect_timeout: '1.5s' },
      { name: 'c', connect_timeout: '1.500s' },
    ],
    [
      'negative durations',
      CLUSTER,
      { name: 'c', connect_timeout: '-0.000001s' },
      { name: 'c', connect_timeout: '-0.000001s' },
    ],
    [
      '64-bit integers as strings (and safe numbers)',
      'type.googleapis.com/envoy.type.v3.Int64Range',
      { start: '-9223372036854775808', end: 9007199254740991 },
      { start: '-9223372036854775808', end: '9007199254740991' },
    ],
    ['null as "not set"', CLUSTER, { name: 'c', connect_timeout: null, lb_policy: null }, { name: 'c' }],
    [
      'proto3 defaults dropped',
      CLUSTER,
      { name: 'c', lb_policy: 'ROUND_ROBIN', respect_dns_ttl: false, alt_stat_name: '' },
      { name: 'c' },
    ],
    [
      'Struct metadata of any JSON',
      CLUSTER,
      { name: 'c', metadata: { filter_metadata: { casa: { a: [1, 'x', null, { b: true }] } } } },
      { name: 'c', metadata: { filter_metadata: { casa: { a: [1, 'x', null, { b: true }] } } } },
    ],
    [
      'NaN and Infinity as strings for doubles',
      'type.googleapis.com/envoy.type.v3.Percent',
      { value: 'Infinity' },
      { value: 'Infinity' },
    ],
  ];
  for (const [rule, typeUrl, input, expected] of accepted) {
    it(`accepts ${rule}`, () => {
      assert.deepEqual(roundTrip(typeUrl, input), { '@type': typeUrl, ...expected });
    });
  }

  it('accepts an Any holding a message and an Any holding a well-known type', () => {
    const listener: EnvoyJson = {
      name: 'l',
      filter_chains: [
        {
          filters: [
            {
              name: 'hcm',
              typed_config: {
                '@type':
                  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                stat_prefix: 'x',
                http_filters: [
                  {
                    name: 'router',
                    typed_config: {
                      '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                    },
                  },
                ],
              },
            },
          ],
        },
      ],
      metadata: {
        typed_filter_metadata: {
          d: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '3s' },
        },
      },
    };
    assert.deepEqual(roundTrip(LISTENER, listener), { '@type': LISTENER, ...listener });
  });

  it('encodes equal content to equal bytes whatever the key order', () => {
    const a = { name: 'c', metadata: { filter_metadata: { x: { b: 1, a: 2 }, y: {} } }, lb_policy: 'RANDOM' };
    const b = { lb_policy: 'RANDOM', metadata: { filter_metadata: { y: {}, x: { a: 2, b: 1 } } }, name: 'c' };
    assert.equal(hex(CLUSTER, a), hex(CLUSTER, b));
  });

  it('takes the type from @type, and refuses a @type that contradicts the served type', () => {
    assert.equal(codec.encodeAny({ '@type': CLUSTER, name: 'c' }).type_url, CLUSTER);
    assert.match(refusal(ROUTE, { '@type': CLUSTER, name: 'c' }).message, /served as/);
    assert.throws(() => codec.encodeAny({ name: 'c' }), /missing/);
  });
});

describe('EnvoyCodec refuses what it cannot map, naming the path', () => {
  const refused: [string, string, EnvoyJson, string, RegExp][] = [
    [
      'a misspelled field, suggesting the right one',
      CLUSTER,
      { name: 'c', conect_timeout: '1s' },
      '$.conect_timeout',
      /did you mean "connect_timeout"/,
    ],
    [
      'a field given in both spellings',
      CLUSTER,
      { name: 'c', lb_policy: 'RANDOM', lbPolicy: 'RANDOM' },
      '$.lbPolicy',
      /twice/,
    ],
    [
      '@type outside an Any',
      CLUSTER,
      { name: 'c', connect_timeout: '1s', load_assignment: { '@type': 'x/y', cluster_name: 'c' } },
      '$.load_assignment.@type',
      /only allowed in a google.protobuf.Any/,
    ],
    [
      'an unknown enum name',
      CLUSTER,
      { name: 'c', lb_policy: 'FASTEST' },
      '$.lb_policy',
      /not a value of envoy.config.cluster.v3.Cluster.LbPolicy/,
    ],
    [
      'a Duration without unit',
      CLUSTER,
      { name: 'c', connect_timeout: '5' },
      '$.connect_timeout',
      /Duration/,
    ],
    [
      'a Duration with ten fractional digits',
      CLUSTER,
      { name: 'c', connect_timeout: '0.0000000001s' },
      '$.connect_timeout',
      /Duration/,
    ],
    [
      'a wrapper written as an object',
      CLUSTER,
      { name: 'c', per_connection_buffer_limit_bytes: { value: 3 } },
      '$.per_connection_buffer_limit_bytes',
      /integer/,
    ],
    [
      'a uint32 out of range',
      CLUSTER,
      { name: 'c', per_connection_buffer_limit_bytes: 2 ** 32 },
      '$.per_connection_buffer_limit_bytes',
      /out of range/,
    ],
    [
      'a negative uint32',
      CLUSTER,
      { name: 'c', per_connection_buffer_limit_bytes: -1 },
      '$.per_connection_buffer_limit_bytes',
      /out of range/,
    ],
    [
      'a fractional integer',
      CLUSTER,
      { name: 'c', per_connection_buffer_limit_bytes: 1.5 },
      '$.per_connection_buffer_limit_bytes',
      /integer/,
    ],
    [
      'a 64-bit integer beyond range',
      'type.googleapis.com/envoy.type.v3.Int64Range',
      { start: '9223372036854775808' },
      '$.start',
      /out of range for int64/,
    ],
    [
      'a 64-bit integer as an unsafe JS number',
      'type.googleapis.com/envoy.type.v3.Int64Range',
      { end: 2 ** 60 },
      '$.end',
      /decimal string/,
    ],
    [
      'a string for a bool',
      ROUTE,
      { name: 'r', validate_clusters: 'true' },
      '$.validate_clusters',
      /true or false/,
    ],
    ['a list where one value belongs', CLUSTER, { name: ['c'] }, '$.name', /expected a string/],
    [
      'a value where a list belongs',
      ROUTE,
      { name: 'r', virtual_hosts: { name: 'v' } },
      '$.virtual_hosts',
      /array/,
    ],
    ['null inside a list', ROUTE, { name: 'r', virtual_hosts: [null] }, '$.virtual_hosts[0]', /null/],
    [
      'two members of a oneof',
      CLUSTER,
      { name: 'c', type: 'EDS', cluster_type: { name: 'x' } },
      '$',
      /only one of cluster_discovery_type/,
    ],
    [
      'an Any without @type',
      LISTENER,
      { name: 'l', listener_filters: [{ name: 'f', typed_config: { x: 1 } }] },
      '$.listener_filters[0].typed_config.@type',
      /needs "@type"/,
    ],
    [
      'an Any of an unknown type',
      LISTENER,
      {
        name: 'l',
        listener_filters: [
          { name: 'f', typed_config: { '@type': 'type.googleapis.com/envoy.nope.v3.Nope' } },
        ],
      },
      '$.listener_filters[0].typed_config.@type',
      /unknown message type envoy.nope.v3.Nope/,
    ],
    [
      'a typo inside an Any',
      LISTENER,
      {
        name: 'l',
        listener_filters: [
          {
            name: 'f',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
              enable_ja4: true,
            },
          },
        ],
      },
      '$.listener_filters[0].typed_config.enable_ja4',
      /unknown field in envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector/,
    ],
    [
      'extra keys next to a well-known type in an Any',
      LISTENER,
      {
        name: 'l',
        metadata: {
          typed_filter_metadata: {
            d: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1s', x: 1 },
          },
        },
      },
      '$.metadata.typed_filter_metadata["d"].x',
      /only "@type" and "value"/,
    ],
    [
      'a non-finite number in a Struct',
      CLUSTER,
      { name: 'c', metadata: { filter_metadata: { m: { n: Number.NaN } } } },
      '$.metadata.filter_metadata["m"]["n"]',
      /finite/,
    ],
    [
      'invalid base64 bytes',
      'type.googleapis.com/envoy.config.core.v3.DataSource',
      { inline_bytes: 'not base64!' },
      '$.inline_bytes',
      /base64/,
    ],
    [
      'a malformed Timestamp',
      'type.googleapis.com/envoy.config.core.v3.Metadata',
      {
        typed_filter_metadata: {
          t: { '@type': 'type.googleapis.com/google.protobuf.Timestamp', value: '2024-02-30T00:00:00Z' },
        },
      },
      '$.typed_filter_metadata["t"].value',
      /date/,
    ],
    [
      'a FieldMask path in snake_case',
      'type.googleapis.com/envoy.config.core.v3.Metadata',
      {
        typed_filter_metadata: {
          t: { '@type': 'type.googleapis.com/google.protobuf.FieldMask', value: 'foo_bar' },
        },
      },
      '$.typed_filter_metadata["t"].value',
      /FieldMask/,
    ],
  ];
  for (const [rule, typeUrl, input, path, message] of refused) {
    it(`refuses ${rule}`, () => {
      const err = refusal(typeUrl, input);
      assert.equal(err.path, path);
      assert.match(err.message, message);
      assert.ok(err.message.startsWith(`${path}: `), 'the message starts with the path');
    });
  }

  it('refuses to decode an Any whose type it does not know', () => {
    assert.throws(
      () => codec.decodeAny({ type_url: 'type.googleapis.com/envoy.nope.v3.Nope', value: new Uint8Array() }),
      (err: unknown) => err instanceof EnvoyJsonError && /envoy.nope.v3.Nope/.test(err.message),
    );
  });
});
