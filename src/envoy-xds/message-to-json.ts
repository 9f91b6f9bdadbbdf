// Decoded protobufjs message -> canonical proto3 JSON (snake_case names, enums
// by name, 64-bit integers as strings, `@type` on every Any, the well-known
// types' special forms). The inverse of json-to-message.ts; used by tests and
// diagnostics to show what was actually put on the wire.
import protobuf from 'protobufjs';
import {
  EnvoyJsonError,
  fullNameOf,
  resolveField,
  SPECIAL_JSON_TYPES,
  type TypeLookup,
} from './json-values.js';
import {
  formatDouble,
  formatDuration,
  formatFieldMask,
  formatFloat32,
  formatTimestamp,
} from './well-known.js';

type Obj = Record<string, unknown>;

const LONG_KINDS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

export class MessageToJson {
  constructor(private readonly lookup: TypeLookup) {}

  message(type: protobuf.Type, msg: Obj, path: string): unknown {
    const name = fullNameOf(type);
    if (name === 'google.protobuf.Any') return this.any(msg, path);
    if (SPECIAL_JSON_TYPES.has(name)) return this.special(type, name, msg, path);
    const out: Obj = {};
    for (const field of type.fieldsArray) {
      const v = msg[field.name];
      const at = `${path}.${field.name}`;
      resolveField(field, at);
      if (field instanceof protobuf.MapField) {
        if (v === null || v === undefined || Object.keys(v as Obj).length === 0) continue;
        const m: Obj = {};
        for (const [k, item] of Object.entries(v as Obj)) {
          // protobufjs keys 64-bit map entries by an 8-char hash of the Long.
          const key = LONG_KINDS.has(field.keyType) && k.length === 8 ? longFromHash(k, field.keyType) : k;
          m[key] = this.single(field, item, `${at}[${key}]`);
        }
        out[field.name] = m;
      } else if (field.repeated) {
        if (!Array.isArray(v) || v.length === 0) continue;
        out[field.name] = v.map((item, i) => this.single(field, item, `${at}[${i}]`));
      } else {
        if (v === null || v === undefined) continue;
        const present = field.hasPresence || field.resolvedType instanceof protobuf.Type;
        // Decoded messages own exactly the fields on the wire; proto3 defaults are not printed.
        if (!Object.hasOwn(msg, field.name) || (!present && isDefault(v))) continue;
        out[field.name] = this.single(field, v, at);
      }
    }
    return out;
  }

  any(msg: Obj, path: string): Obj {
    const url = String(msg.type_url ?? '');
    const typeName = url.slice(url.lastIndexOf('/') + 1);
    const inner = typeName ? this.lookup(typeName) : undefined;
    if (!inner) throw new EnvoyJsonError(`${path}.@type`, `unknown message type ${JSON.stringify(typeName)}`);
    const bytes = msg.value instanceof Uint8Array ? msg.value : new Uint8Array();
    const json = this.message(inner, inner.decode(bytes) as unknown as Obj, path);
    if (SPECIAL_JSON_TYPES.has(typeName) || typeName === 'google.protobuf.Any') {
      return { '@type': url, value: json };
    }
    return { '@type': url, ...(json as Obj) };
  }

  private single(field: protobuf.FieldBase, v: unknown, path: string): unknown {
    const t = field.resolvedType;
    if (t instanceof protobuf.Type) return this.message(t, v as Obj, path);
    if (t instanceof protobuf.Enum) {
      if (fullNameOf(t) === 'google.protobuf.NullValue') return null;
      return t.valuesById[v as number] ?? v;
    }
    return scalar(field.type, v);
  }

  private special(type: protobuf.Type, name: string, msg: Obj, path: string): unknown {
    switch (name) {
      case 'google.protobuf.Duration':
        return formatDuration(longString(msg.seconds), Number(msg.nanos ?? 0));
      case 'google.protobuf.Timestamp':
        return formatTimestamp(longString(msg.seconds), Number(msg.nanos ?? 0));
      case 'google.protobuf.FieldMask':
        return formatFieldMask((msg.paths as string[] | undefined) ?? []);
      case 'google.protobuf.Struct': {
        const fields = (msg[fieldName(type, 1)] ?? {}) as Obj;
        const valueType = (type.fieldsById[1] as protobuf.Field).resolve().resolvedType as protobuf.Type;
        const out: Obj = {};
        for (const [k, v] of Object.entries(fields))
          out[k] = this.special(valueType, 'google.protobuf.Value', v as Obj, `${path}[${k}]`);
        return out;
      }
      case 'google.protobuf.ListValue': {
        const values = (msg[fieldName(type, 1)] ?? []) as Obj[];
        const valueType = (type.fieldsById[1] as protobuf.Field).resolve().resolvedType as protobuf.Type;
        return values.map((v, i) => this.special(valueType, 'google.protobuf.Value', v, `${path}[${i}]`));
      }
      case 'google.protobuf.Value':
        return this.value(type, msg, path);
      default: {
        const field = (type.fieldsById[1] as protobuf.Field).resolve();
        const v = msg[field.name];
        if (v === undefined || v === null) return scalar(field.type, defaultOf(field.type));
        return scalar(field.type, v);
      }
    }
  }

  private value(type: protobuf.Type, msg: Obj, path: string): unknown {
    const f = (id: number) => (type.fieldsById[id] as protobuf.Field).resolve();
    if (Object.hasOwn(msg, f(2).name)) return msg[f(2).name];
    if (Object.hasOwn(msg, f(3).name)) return msg[f(3).name];
    if (Object.hasOwn(msg, f(4).name)) return msg[f(4).name];
    if (Object.hasOwn(msg, f(5).name)) {
      return this.special(
        f(5).resolvedType as protobuf.Type,
        'google.protobuf.Struct',
        msg[f(5).name] as Obj,
        path,
      );
    }
    if (Object.hasOwn(msg, f(6).name)) {
      return this.special(
        f(6).resolvedType as protobuf.Type,
        'google.protobuf.ListValue',
        msg[f(6).name] as Obj,
        path,
      );
    }
    return null;
  }
}

function scalar(kind: string, v: unknown): unknown {
  if (LONG_KINDS.has(kind)) return longString(v);
  if (kind === 'bytes') return Buffer.from(v as Uint8Array).toString('base64');
  if (kind === 'float') return formatFloat32(v as number);
  if (kind === 'double') return formatDouble(v as number);
  return v;
}

function defaultOf(kind: string): unknown {
  if (kind === 'string') return '';
  if (kind === 'bool') return false;
  if (kind === 'bytes') return new Uint8Array();
  return 0;
}

function isDefault(v: unknown): boolean {
  if (typeof v === 'object' && v !== null && 'low' in v && 'high' in v) {
    return (v as { low: number; high: number }).low === 0 && (v as { low: number; high: number }).high === 0;
  }
  if (v instanceof Uint8Array || Array.isArray(v)) return v.length === 0;
  return v === 0 || v === false || v === '';
}

/** A long.js Long, a number or a string -> decimal string. */
function longString(v: unknown): string {
  if (v === undefined || v === null) return '0';
  return typeof v === 'object' ? (v as { toString(): string }).toString() : String(v);
}

function longFromHash(hash: string, keyType: string): string {
  const unsigned = keyType === 'uint64' || keyType === 'fixed64';
  return longString(protobuf.util.longFromHash(hash, unsigned));
}

function fieldName(type: protobuf.Type, id: number): string {
  return (type.fieldsById[id] as protobuf.Field).name;
}
