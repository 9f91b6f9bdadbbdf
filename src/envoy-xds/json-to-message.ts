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
import {
  checkMapKey,
  describe,
  EnvoyJsonError,
  enumValue,
  expectString,
  fullNameOf,
  isDefault,
  isPlainObject,
  keyPath,
  resolveField,
  SPECIAL_JSON_TYPES,
  scalar,
  suggest,
  type TypeLookup,
} from './json-values.js';
import { jsonName, parseDuration, parseFieldMask, parseTimestamp } from './well-known.js';

type Obj = Record<string, unknown>;

const MAX_DEPTH = 100;

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
        throw new EnvoyJsonError(
          `${path}.${key}`,
          `field ${field.name} given twice (snake_case and lowerCamelCase)`,
        );
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
    resolveField(field, path);
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
      const kind =
        name === 'google.protobuf.Any' ? 'any' : SPECIAL_JSON_TYPES.has(name) ? 'special' : 'message';
      const oneofs = type.oneofsArray.filter((o) => !o.isProto3Optional && o.fieldsArray.length > 1);
      info = { name, kind, keys, oneofs };
      this.info.set(type, info);
    }
    return info;
  }
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
