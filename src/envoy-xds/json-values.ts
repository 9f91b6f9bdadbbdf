// Value-level rules of the proto3-JSON mapping shared by both directions:
// scalars, 64-bit integers, enums, map keys, the error type that names a JSON
// path, and small helpers for readable errors.
// https://protobuf.dev/programming-guides/proto3/#json
import type protobuf from 'protobufjs';

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

export function scalar(kind: string, v: unknown, path: string): unknown {
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

export function enumValue(t: protobuf.Enum, v: unknown, path: string): number {
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

export function checkMapKey(keyType: string, k: string, path: string): void {
  if (keyType === 'string') return;
  if (keyType === 'bool') {
    if (k !== 'true' && k !== 'false') throw new EnvoyJsonError(path, 'map key must be "true" or "false"');
    return;
  }
  if (!/^-?\d+$/.test(k)) throw new EnvoyJsonError(path, `map key must be an integer (${keyType})`);
}

export function expectString(v: unknown, path: string, what: string): string {
  if (typeof v !== 'string') throw new EnvoyJsonError(path, `expected ${what}, got ${describe(v)}`);
  return v;
}

/** proto3 fields without presence are not encoded at their default value. */
export function isDefault(kind: string, v: unknown): boolean {
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

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

export function suggest(key: string, keys: Map<string, protobuf.Field>): string {
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

/** Resolves a field's type, which fails only for a type whose .proto could not be loaded. */
export function resolveField(field: protobuf.Field, path: string): void {
  try {
    field.resolve();
  } catch (err) {
    throw new EnvoyJsonError(path, `the type of ${field.name} is not available: ${(err as Error).message}`);
  }
}
