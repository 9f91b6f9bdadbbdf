// fast-check arbitraries of canonical proto3 JSON for real Envoy message types,
// driven by the .proto reflection the codec loads: every field kind (scalars,
// 64-bit strings, enums by name, bytes, maps, lists, oneofs, proto3 optional,
// nested messages) and the well-known types' JSON forms, including Any with
// `@type`. "Canonical" = what decode() prints, so decode(encode(x)) must equal x.
import fc from 'fast-check';
import protobuf from 'protobufjs';
import type { EnvoyCodec, EnvoyJson } from '../../../src/envoy-xds/codec.js';
import { formatDuration, formatFloat32, formatTimestamp } from '../../../src/envoy-xds/well-known.js';

/** Types an Any may hold in generated values (kept small: each is a whole message tree). */
export const ANY_TYPES = [
  'envoy.extensions.filters.http.router.v3.Router',
  'envoy.extensions.filters.http.rbac.v3.RBAC',
  'google.protobuf.Duration',
  'google.protobuf.Struct',
  'google.protobuf.UInt32Value',
];

type Arb = fc.Arbitrary<unknown>;

export class EnvoyArbitraries {
  private readonly memo = new Map<string, Arb>();

  constructor(
    private readonly codec: EnvoyCodec,
    private readonly maxDepth = 3,
  ) {}

  /** Canonical JSON of `typeName` (without `@type`). */
  message(typeName: string, depth = 0): fc.Arbitrary<EnvoyJson> {
    return this.messageOf(this.codec.messageType(typeName), depth) as fc.Arbitrary<EnvoyJson>;
  }

  private messageOf(type: protobuf.Type, depth: number): Arb {
    const name = type.fullName.slice(1);
    const key = `${name}@${depth}`;
    const cached = this.memo.get(key);
    if (cached) return cached;
    const arb = fc.constant(null).chain(() => this.build(type, name, depth));
    this.memo.set(key, arb);
    return arb;
  }

  private build(type: protobuf.Type, name: string, depth: number): Arb {
    const special = this.special(name, depth);
    if (special) return special;
    // One slot per plain field, one per real oneof (choosing at most one member).
    const slots: fc.Arbitrary<[string, unknown][]>[] = [];
    for (const field of type.fieldsArray) {
      if (field.partOf && !field.partOf.isProto3Optional) continue;
      const arb = this.field(field, depth);
      if (arb)
        slots.push(
          fc.option(
            arb.map((v) => [[field.name, v]] as [string, unknown][]),
            { nil: [] as [string, unknown][], freq: 3 },
          ),
        );
    }
    for (const oneof of type.oneofsArray) {
      if (oneof.isProto3Optional) continue;
      const members = oneof.fieldsArray
        .map((f) => [f, this.field(f, depth, true)] as const)
        .filter((x): x is readonly [protobuf.Field, Arb] => x[1] !== undefined)
        .map(([f, arb]) => arb.map((v) => [[f.name, v]] as [string, unknown][]));
      if (members.length > 0) slots.push(fc.oneof(fc.constant([] as [string, unknown][]), ...members));
    }
    return fc.tuple(...slots).map((parts) => Object.fromEntries(parts.flat()));
  }

  /** undefined: the field cannot be generated at this depth (skip it). */
  private field(field: protobuf.Field, depth: number, presence = field.hasPresence): Arb | undefined {
    field.resolve();
    const value = (): Arb | undefined => this.value(field, depth, presence || field.repeated || field.map);
    if (field instanceof protobuf.MapField) {
      const v = value();
      if (!v) return undefined;
      return fc.dictionary(mapKey(field.keyType), v, { minKeys: 1, maxKeys: 2 }).map(plain);
    }
    if (field.repeated) {
      const v = this.value(field, depth, true);
      return v ? fc.array(v, { minLength: 1, maxLength: 2 }) : undefined;
    }
    return value();
  }

  private value(field: protobuf.FieldBase, depth: number, presence: boolean): Arb | undefined {
    const t = field.resolvedType;
    if (t instanceof protobuf.Type) {
      if (depth >= this.maxDepth) return undefined;
      return this.messageOf(t, depth + 1);
    }
    if (t instanceof protobuf.Enum) {
      const names = Object.keys(t.values).filter(
        (n) => t.valuesById[t.values[n] as number] === n && (presence || t.values[n] !== 0),
      );
      return names.length ? fc.constantFrom(...names) : undefined;
    }
    return scalar(field.type, presence);
  }

  private special(name: string, depth: number): Arb | undefined {
    switch (name) {
      case 'google.protobuf.Any':
        if (depth >= this.maxDepth) return fc.constant({ '@type': `type.googleapis.com/${ANY_TYPES[0]}` });
        return fc.constantFrom(...ANY_TYPES).chain((t) => {
          const inner = this.message(t, depth + 1);
          return inner.map((v) =>
            t.startsWith('google.protobuf.')
              ? { '@type': `type.googleapis.com/${t}`, value: v }
              : { '@type': `type.googleapis.com/${t}`, ...v },
          );
        });
      case 'google.protobuf.Duration':
        return fc
          .tuple(fc.integer({ min: -100_000, max: 100_000 }), fc.integer({ min: 0, max: 999_999_999 }))
          .map(([s, n]) => formatDuration(String(s), s < 0 ? -n : n));
      case 'google.protobuf.Timestamp':
        return fc
          .tuple(
            fc.integer({ min: -62_135_596_800, max: 253_402_300_799 }),
            fc.integer({ min: 0, max: 999_999_999 }),
          )
          .map(([s, n]) => formatTimestamp(String(s), n));
      case 'google.protobuf.FieldMask':
        return fc
          .array(fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,6}(\.[a-z][a-zA-Z0-9]{0,6})?$/), {
            minLength: 1,
            maxLength: 3,
          })
          .map((p) => p.join(','));
      case 'google.protobuf.Struct':
        return jsonObject(depth);
      case 'google.protobuf.Value':
        return jsonValue(depth);
      case 'google.protobuf.ListValue':
        return fc.array(jsonValue(depth + 1), { maxLength: 3 });
      case 'google.protobuf.DoubleValue':
        return scalar('double', true);
      case 'google.protobuf.FloatValue':
        return scalar('float', true);
      case 'google.protobuf.Int64Value':
        return scalar('int64', true);
      case 'google.protobuf.UInt64Value':
        return scalar('uint64', true);
      case 'google.protobuf.Int32Value':
        return scalar('int32', true);
      case 'google.protobuf.UInt32Value':
        return scalar('uint32', true);
      case 'google.protobuf.BoolValue':
        return scalar('bool', true);
      case 'google.protobuf.StringValue':
        return scalar('string', true);
      case 'google.protobuf.BytesValue':
        return scalar('bytes', true);
      default:
        return undefined;
    }
  }
}

/** A canonical scalar; without presence, proto3 defaults are excluded (they are not encoded). */
export function scalar(kind: string, presence: boolean): Arb | undefined {
  const nonDefault = <T>(arb: fc.Arbitrary<T>, isDefault: (v: T) => boolean) =>
    presence ? arb : arb.filter((v) => !isDefault(v));
  switch (kind) {
    case 'string':
      return nonDefault(fc.string({ maxLength: 8 }), (v) => v === '');
    case 'bool':
      return presence ? fc.boolean() : fc.constant(true);
    case 'bytes':
      return nonDefault(fc.uint8Array({ maxLength: 6 }), (v) => v.length === 0).map((b) =>
        Buffer.from(b).toString('base64'),
      );
    case 'double':
      return nonDefault(fc.double(), (v) => v === 0)
        .filter((v) => !Object.is(v, -0))
        .map((v) => (Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? v : v > 0 ? 'Infinity' : '-Infinity'));
    case 'float':
      return nonDefault(fc.float(), (v) => v === 0)
        .filter((v) => !Object.is(v, -0))
        .map((v) => formatFloat32(v));
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return nonDefault(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => v === 0);
    case 'uint32':
    case 'fixed32':
      return nonDefault(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (v) => v === 0);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return nonDefault(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => v === 0n).map(String);
    case 'uint64':
    case 'fixed64':
      return nonDefault(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => v === 0n).map(String);
    default:
      return undefined;
  }
}

function mapKey(keyType: string): fc.Arbitrary<string> {
  if (keyType === 'string') return fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== '__proto__');
  if (keyType === 'bool') return fc.constantFrom('true', 'false');
  if (keyType.startsWith('u') || keyType.startsWith('fixed')) return fc.nat({ max: 1000 }).map(String);
  return fc.integer({ min: -1000, max: 1000 }).map(String);
}

function jsonValue(depth: number): Arb {
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.string({ maxLength: 6 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((v) => !Object.is(v, -0)),
  );
  if (depth >= 4) return leaf;
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    jsonObject(depth + 1),
    fc.array(jsonValue(depth + 1), { maxLength: 2 }),
  );
}

function jsonObject(depth: number): Arb {
  return fc
    .dictionary(
      fc.string({ maxLength: 5 }).filter((k) => k !== '__proto__'),
      depth >= 4 ? fc.constant(null) : jsonValue(depth + 1),
      { maxKeys: 3 },
    )
    .map(plain);
}

/** fast-check dictionaries have a null prototype; JSON objects do not. */
function plain(d: Record<string, unknown>): Record<string, unknown> {
  return { ...d };
}
