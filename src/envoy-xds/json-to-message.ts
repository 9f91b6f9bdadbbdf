// Strict proto3-JSON -> protobufjs runtime objects, ready for Type.encode.
//
// protobufjs' own fromObject is lenient: an unknown key, a misspelled field or
// a string where a message belongs silently vanishes, and Envoy would then run
// with a different config than the one written. This walker accepts exactly
// the proto3-JSON mapping (https://protobuf.dev/programming-guides/proto3/#json)
// — snake_case or lowerCamelCase names, enums by name, 64-bit integers as
// strings, the well-known types' special forms, `@type` on every Any — and
// throws an EnvoyJsonError naming the JSON path of the first thing it cannot
// map. Output is canonical (proto3 defaults dropped, map keys sorted) so equal
// configs encode to equal bytes and a content hash can version them.
import protobuf from 'protobufjs';
import { jsonName, parseDuration, parseFieldMask, parseTimestamp } from './well-known.js';

export class EnvoyJsonError extends Error {
  constructor(
    /** JSON path of the offending value, e.g. `$.filter_chains[0].filters[0].name`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'EnvoyJsonError';
  }
}

/** Finds a message type by full name (without the leading dot); undefined if unknown. */
export type TypeLookup = (fullName: string) => protobuf.Type | undefined;

type Obj = Record<string, unknown>;

const MAX_DEPTH = 100;
const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;
const UINT32 = [0, 2 ** 32 - 1] as const;
const INT64 = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const UINT64 = [0n, 2n ** 64n - 1n] as const;
const FLOAT_MAX = 3.4028234663852886e38;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Well-known types whose JSON form is not an object of their fields. */
export const SPECIAL_JSON_TYPES: ReadonlySet<string> = new Set([
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.FieldMask',
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.DoubleValue',
  'google.protobuf.FloatValue',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);

/** A reflection object's full name without the leading dot (protobufjs recomputes it on every read). */
export function fullNameOf(type: protobuf.ReflectionObject): string {
  return type.fullName.startsWith('.') ? type.fullName.slice(1) : type.fullName;
}

/** What the walker needs to know about a message type, computed once per type. */
interface TypeInfo {
  readonly name: string;
  readonly kind: 'any' | 'special' | 'message';
  /** Every accepted key (snake_case and lowerCamelCase) -> field. */
  readonly keys: Map<string, protobuf.Field>;
  /** Real oneofs (not proto3 `optional`) with more than one member. */
  readonly oneofs: readonly protobuf.OneOf[];
}

export class JsonToMessage {
  private readonly info = new WeakMap<protobuf.Type, TypeInfo>();

  constructor(private readonly lookup: TypeLookup) {}

  /** Converts `value` (a proto3-JSON message of `type`) into an object for `type.encode`. */
  message(type: protobuf.Type, value: unknown, path: string, depth = 0): Obj {
    if (depth > MAX_DEPTH) throw new EnvoyJsonError(path, `nested deeper than ${MAX_DEPTH} levels`);
    const info = this.infoOf(type);
    if (info.kind === 'any') return this.any(value, path, depth);
    if (info.kind === 'special') return this.special(type, info.name, value, path, depth);
    if (!isPlainObject(value)) {
      throw new EnvoyJsonError(path, `expected a JSON object for ${info.name}, got ${describe(value)}`);
    }
    const keys = info.keys;
    const out: Obj = {};
    for (const key of Object.keys(value)) {
      const field = keys.get(key);
      if (!field) {
        const at = `${path}.${key}`;
        if (key === '@type') throw new EnvoyJsonError(at, `"@type" is only allowed in a google.protobuf.Any`);
        throw new EnvoyJsonError(at, `unknown field in ${info.name}${suggest(key, keys)}`);
      }
      if (field.name in out || (key !== field.name && field.name in value)) {
        throw new EnvoyJsonError(`${path}.${key}`, `field ${field.name} given twice (snake_case and lowerCamelCase)`);
      }
      const v = this.field(field, value[key], `${path}.${key}`, depth + 1);
      if (v !== undefined) out[field.name] = v;
    }
    for (const oneof of info.oneofs) {
      const set = oneof.fieldsArray.filter((f) => f.name in out);
      if (set.length > 1) {
        throw new EnvoyJsonError(
          path,
          `only one of ${oneof.name} may be set, got ${set.map((f) => f.name).join(' and ')}`,
        );
      }
    }
    return out;
  }

  /** `{"@type": url, ...fields}` (or `{"@type", "value"}` for special types) -> {type_url, value}. */
  any(value: unknown, path: string, depth: number): Obj {
    if (!isPlainObject(value)) {
      throw new EnvoyJsonError(
        path,
        `expected a google.protobuf.Any object with "@type", got ${describe(value)}`,
      );
    }
    const url = value['@type'];
    if (typeof url !== 'string' || !url.includes('/') || url.endsWith('/')) {
      throw new EnvoyJsonError(
        `${path}.@type`,
        `an Any needs "@type": "type.googleapis.com/<message>", got ${describe(url)}`,
      );
    }
    const typeName = url.slice(url.lastIndexOf('/') + 1);
    const inner = this.lookup(typeName);
    if (!inner) throw new EnvoyJsonError(`${path}.@type`, `unknown message type ${typeName}`);
    let obj: Obj;
    if (SPECIAL_JSON_TYPES.has(typeName) || typeName === 'google.protobuf.Any') {
      const extra = Object.keys(value).filter((k) => k !== '@type' && k !== 'value');
      if (extra.length > 0) {
        throw new EnvoyJsonError(
          `${path}.${extra[0]}`,
          `an Any holding ${typeName} takes only "@type" and "value"`,
        );
      }
      obj = this.message(inner, value.value, `${path}.value`, depth + 1);
    } else {
      const { '@type': _url, ...rest } = value;
      obj = this.message(inner, rest, path, depth + 1);
    }
    return { type_url: url, value: inner.encode(obj).finish() };
  }

  private field(field: protobuf.Field, v: unknown, path: string, depth: number): unknown {
    field.resolve();
    if (field instanceof protobuf.MapField) return this.map(field, v, path, depth);
    if (field.repeated) {
      if (v === null) return undefined;
      if (!Array.isArray(v)) throw new EnvoyJsonError(path, `expected a JSON array, got ${describe(v)}`);
      if (v.length === 0) return undefined;
      return v.map((item, i) => {
        const at = `${path}[${i}]`;
        const out = this.single(field, item, at, depth);
        if (out === undefined) throw new EnvoyJsonError(at, 'null is not allowed in a list');
        return out;
      });
    }
    const out = this.single(field, v, path, depth);
    if (out === undefined || field.hasPresence || field.resolvedType instanceof protobuf.Type) return out;
    return isDefault(field.type, out) ? undefined : out;
  }

  private map(field: protobuf.MapField, v: unknown, path: string, depth: number): Obj | undefined {
    if (v === null) return undefined;
    if (!isPlainObject(v)) throw new EnvoyJsonError(path, `expected a JSON object (map), got ${describe(v)}`);
    const keys = Object.keys(v).sort();
    if (keys.length === 0) return undefined;
    const out: Obj = {};
    for (const k of keys) {
      const at = keyPath(path, k);
      checkMapKey(field.keyType, k, at);
      const item = this.single(field, v[k], at, depth);
      if (item === undefined) throw new EnvoyJsonError(at, 'null is not allowed as a map value');
      out[k] = item;
    }
    return out;
  }

  /** One value of the field's type; undefined means "absent" (JSON null). */
  private single(field: protobuf.FieldBase, v: unknown, path: string, depth: number): unknown {
    const t = field.resolvedType;
    if (t instanceof protobuf.Type) {
      if (v === null && this.infoOf(t).name !== 'google.protobuf.Value') return undefined;
      return this.message(t, v, path, depth);
    }
    if (t instanceof protobuf.Enum) {
      if (v === null) return fullNameOf(t) === 'google.protobuf.NullValue' ? 0 : undefined;
      return enumValue(t, v, path);
    }
    if (v === null) return undefined;
    return scalar(field.type, v, path);
  }

  private special(type: protobuf.Type, name: string, v: unknown, path: string, depth: number): Obj {
    switch (name) {
      case 'google.protobuf.Duration':
        return secondsNanos(
          wkt(path, () => parseDuration(expectString(v, path, 'a Duration such as "0.25s"'))),
        );
      case 'google.protobuf.Timestamp':
        return secondsNanos(wkt(path, () => parseTimestamp(expectString(v, path, 'an RFC 3339 Timestamp'))));
      case 'google.protobuf.FieldMask': {
        const paths = wkt(path, () => parseFieldMask(expectString(v, path, 'a FieldMask string')));
        return paths.length > 0 ? { paths } : {};
      }
      case 'google.protobuf.Struct':
        return this.struct(type, v, path, depth);
      case 'google.protobuf.ListValue':
        return this.listValue(type, v, path, depth);
      case 'google.protobuf.Value':
        return this.value(type, v, path, depth);
      default: {
        // Wrappers (google.protobuf.*Value): the bare scalar is the JSON form.
        const field = type.fieldsById[1];
        if (!field) throw new EnvoyJsonError(path, `malformed wrapper type ${name}`);
        if (v === null) return {};
        const out = scalar(field.type, v, path);
        return isDefault(field.type, out) ? {} : { [field.name]: out };
      }
    }
  }

  private struct(type: protobuf.Type, v: unknown, path: string, depth: number): Obj {
    if (!isPlainObject(v))
      throw new EnvoyJsonError(path, `expected a JSON object (Struct), got ${describe(v)}`);
    const fields = type.fieldsById[1] as protobuf.Field;
    const valueType = fields.resolve().resolvedType as protobuf.Type;
    const out: Obj = {};
    for (const k of Object.keys(v).sort()) {
      out[k] = this.value(valueType, v[k], keyPath(path, k), depth + 1);
    }
    return { [fields.name]: out };
  }

  private listValue(type: protobuf.Type, v: unknown, path: string, depth: number): Obj {
    if (!Array.isArray(v))
      throw new EnvoyJsonError(path, `expected a JSON array (ListValue), got ${describe(v)}`);
    const values = type.fieldsById[1] as protobuf.Field;
    const valueType = values.resolve().resolvedType as protobuf.Type;
    return { [values.name]: v.map((item, i) => this.value(valueType, item, `${path}[${i}]`, depth + 1)) };
  }

  private value(type: protobuf.Type, v: unknown, path: string, depth: number): Obj {
    if (depth > MAX_DEPTH) throw new EnvoyJsonError(path, `nested deeper than ${MAX_DEPTH} levels`);
    const f = (id: number) => (type.fieldsById[id] as protobuf.Field).resolve();
    if (v === null) return { [f(1).name]: 0 };
    if (typeof v === 'number') {
      if (!Number.isFinite(v))
        throw new EnvoyJsonError(path, 'a google.protobuf.Value number must be finite');
      return { [f(2).name]: v };
    }
    if (typeof v === 'string') return { [f(3).name]: v };
    if (typeof v === 'boolean') return { [f(4).name]: v };
    if (Array.isArray(v))
      return { [f(6).name]: this.listValue(f(6).resolvedType as protobuf.Type, v, path, depth) };
    if (isPlainObject(v))
      return { [f(5).name]: this.struct(f(5).resolvedType as protobuf.Type, v, path, depth) };
    throw new EnvoyJsonError(path, `not a JSON value: ${describe(v)}`);
  }

  private infoOf(type: protobuf.Type): TypeInfo {
    let info = this.info.get(type);
    if (!info) {
      const name = fullNameOf(type);
      const keys = new Map<string, protobuf.Field>();
      for (const field of type.fieldsArray) {
        keys.set(field.name, field);
        keys.set(jsonName(field.name), field);
      }
      const kind = name === 'google.protobuf.Any' ? 'any' : SPECIAL_JSON_TYPES.has(name) ? 'special' : 'message';
      const oneofs = type.oneofsArray.filter((o) => !o.isProto3Optional && o.fieldsArray.length > 1);
      info = { name, kind, keys, oneofs };
      this.info.set(type, info);
    }
    return info;
  }

}

function scalar(kind: string, v: unknown, path: string): unknown {
  switch (kind) {
    case 'string':
      return expectString(v, path, 'a string');
    case 'bool':
      if (typeof v !== 'boolean')
        throw new EnvoyJsonError(path, `expected true or false, got ${describe(v)}`);
      return v;
    case 'bytes': {
      const s = expectString(v, path, 'base64 bytes');
      if (!BASE64.test(s) || s.replace(/=+$/, '').length % 4 === 1) {
        throw new EnvoyJsonError(path, 'expected base64 bytes');
      }
      return new Uint8Array(Buffer.from(s, 'base64'));
    }
    case 'double':
    case 'float':
      return floating(kind, v, path);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return int32(v, path, INT32, kind);
    case 'uint32':
    case 'fixed32':
      return int32(v, path, UINT32, kind);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return int64(v, path, INT64, kind);
    case 'uint64':
    case 'fixed64':
      return int64(v, path, UINT64, kind);
    default:
      throw new EnvoyJsonError(path, `unsupported field type ${kind}`);
  }
}

function floating(kind: string, v: unknown, path: string): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (v === 'NaN') n = Number.NaN;
  else if (v === 'Infinity') n = Number.POSITIVE_INFINITY;
  else if (v === '-Infinity') n = Number.NEGATIVE_INFINITY;
  else if (typeof v === 'string' && /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) n = Number(v);
  else throw new EnvoyJsonError(path, `expected a number (${kind}), got ${describe(v)}`);
  if (kind === 'float' && Number.isFinite(n) && Math.abs(n) > FLOAT_MAX) {
    throw new EnvoyJsonError(path, `${v} is out of range for a float`);
  }
  return n;
}

function int32(v: unknown, path: string, [min, max]: readonly [number, number], kind: string): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new EnvoyJsonError(path, `expected an integer (${kind}), got ${describe(v)}`);
  }
  if (n < min || n > max) throw new EnvoyJsonError(path, `${n} is out of range for ${kind}`);
  return n;
}

/** 64-bit integers stay decimal strings (protobufjs encodes them through long.js). */
function int64(v: unknown, path: string, [min, max]: readonly [bigint, bigint], kind: string): string {
  let b: bigint;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) b = BigInt(v);
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else {
    throw new EnvoyJsonError(path, `expected an integer (${kind}, as a decimal string), got ${describe(v)}`);
  }
  if (b < min || b > max) throw new EnvoyJsonError(path, `${v} is out of range for ${kind}`);
  return b.toString();
}

function enumValue(t: protobuf.Enum, v: unknown, path: string): number {
  if (typeof v === 'string') {
    const n = t.values[v];
    if (n === undefined) {
      const names = Object.keys(t.values);
      const shown = names.length <= 12 ? ` (one of ${names.join(', ')})` : '';
      throw new EnvoyJsonError(path, `${JSON.stringify(v)} is not a value of ${fullNameOf(t)}${shown}`);
    }
    return n;
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= INT32[0] && v <= INT32[1]) return v;
  throw new EnvoyJsonError(path, `expected an enum name of ${fullNameOf(t)}, got ${describe(v)}`);
}

function checkMapKey(keyType: string, k: string, path: string): void {
  if (keyType === 'string') return;
  if (keyType === 'bool') {
    if (k !== 'true' && k !== 'false') throw new EnvoyJsonError(path, 'map key must be "true" or "false"');
    return;
  }
  if (!/^-?\d+$/.test(k)) throw new EnvoyJsonError(path, `map key must be an integer (${keyType})`);
}

/** Duration/Timestamp fields without the zero parts (canonical encoding). */
function secondsNanos(v: { seconds: string; nanos: number }): Obj {
  const out: Obj = {};
  if (v.seconds !== '0') out.seconds = v.seconds;
  if (v.nanos !== 0) out.nanos = v.nanos;
  return out;
}

function wkt<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof EnvoyJsonError) throw err;
    throw new EnvoyJsonError(path, (err as Error).message);
  }
}

function expectString(v: unknown, path: string, what: string): string {
  if (typeof v !== 'string') throw new EnvoyJsonError(path, `expected ${what}, got ${describe(v)}`);
  return v;
}

/** proto3 fields without presence are not encoded at their default value. */
function isDefault(kind: string, v: unknown): boolean {
  if (kind === 'string') return v === '';
  if (typeof v === 'string') return v === '0'; // 64-bit integers
  return v === 0 || v === false || (v instanceof Uint8Array && v.length === 0);
}

const SIMPLE_KEY = /^[\w.:/-]*$/;

/** `path["key"]`, quoting the key as JSON (cheaply when it needs no escaping). */
export function keyPath(path: string, key: string): string {
  return SIMPLE_KEY.test(key) ? `${path}["${key}"]` : `${path}[${JSON.stringify(key)}]`;
}

export function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function suggest(key: string, keys: Map<string, protobuf.Field>): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const [candidate, field] of keys) {
    if (candidate !== field.name) continue;
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below it. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin >= limit) return limit;
    prev = cur;
  }
  return Math.min(prev[b.length] ?? limit, limit);
}
