// Properties of the codec over generated instances of real Envoy types:
// round trip, idempotent canonical bytes, and that any unknown key or
// wrongly-typed value anywhere in a resource is refused with its exact path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { EnvoyCodec, EnvoyJsonError } from '../../../src/envoy-xds/codec.js';
import { EnvoyArbitraries } from './envoy-arbitrary.js';

const codec = new EnvoyCodec();
const arbs = new EnvoyArbitraries(codec);

const RESOURCE_TYPES = [
  'envoy.config.listener.v3.Listener',
  'envoy.config.route.v3.RouteConfiguration',
  'envoy.config.cluster.v3.Cluster',
  'envoy.config.endpoint.v3.ClusterLoadAssignment',
  'envoy.config.core.v3.TypedExtensionConfig',
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  'envoy.extensions.filters.http.rbac.v3.RBAC',
];

interface KeySlot {
  readonly path: string;
  readonly obj: Record<string, unknown>;
  readonly key: string;
  readonly field: protobuf.Field;
}

const FREE_FORM = new Set([
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
]);

/** Every field key in a JSON message, with the proto field it names (descending through Any). */
function keySlots(type: protobuf.Type, value: unknown, path = '$', out: KeySlot[] = []): KeySlot[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const field = type.fields[key];
    if (!field) continue;
    field.resolve();
    out.push({ path, obj, key, field });
    const t = field.resolvedType;
    if (!(t instanceof protobuf.Type) || FREE_FORM.has(t.fullName)) continue;
    const items = field.map
      ? Object.entries(obj[key] as object)
      : Array.isArray(obj[key])
        ? (obj[key] as unknown[]).map((v, i) => [i, v] as const)
        : [[undefined, obj[key]] as const];
    for (const [k, item] of items) {
      const at =
        k === undefined
          ? `${path}.${key}`
          : typeof k === 'number'
            ? `${path}.${key}[${k}]`
            : `${path}.${key}[${JSON.stringify(k)}]`;
      if (t.fullName === '.google.protobuf.Any') {
        const url = (item as Record<string, unknown>)['@type'] as string;
        const inner = codec.messageType(url);
        if (!inner.fullName.startsWith('.google.protobuf.')) keySlots(inner, item, at, out);
      } else if (!t.fullName.startsWith('.google.protobuf.')) keySlots(t, item, at, out);
    }
  }
  return out;
}

/** The message objects in a JSON resource (not Struct contents), with their paths. */
function messageSlots(type: protobuf.Type, json: unknown): { path: string; obj: Record<string, unknown> }[] {
  const seen = new Map<Record<string, unknown>, string>([[json as Record<string, unknown>, '$']]);
  for (const s of keySlots(type, json)) {
    const v = s.obj[s.key];
    const t = s.field.resolvedType;
    if (
      !(t instanceof protobuf.Type) ||
      (t.fullName.startsWith('.google.protobuf.') && t.fullName !== '.google.protobuf.Any')
    )
      continue;
    const children = s.field.map
      ? Object.entries(v as object)
      : Array.isArray(v)
        ? v.map((x, i) => [i, x] as const)
        : [[undefined, v] as const];
    for (const [k, child] of children) {
      const at =
        k === undefined
          ? `${s.path}.${s.key}`
          : typeof k === 'number'
            ? `${s.path}.${s.key}[${k}]`
            : `${s.path}.${s.key}[${JSON.stringify(k)}]`;
      seen.set(child as Record<string, unknown>, at);
    }
  }
  return [...seen].map(([obj, path]) => ({ obj, path }));
}

describe('EnvoyCodec properties', () => {
  for (const typeName of RESOURCE_TYPES) {
    const url = `type.googleapis.com/${typeName}`;
    it(`round-trips canonical ${typeName.split('.').at(-1)} JSON and re-encodes to the same bytes`, () => {
      fc.assert(
        fc.property(arbs.message(typeName), (json) => {
          const any = codec.encodeAny({ '@type': url, ...json });
          const back = codec.decodeAny(any);
          assert.deepStrictEqual(back, { '@type': url, ...json });
          assert.deepStrictEqual(codec.encodeAny(back).value, any.value);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('refuses an unknown key at any depth, naming its path', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RESOURCE_TYPES).chain((t) => fc.tuple(fc.constant(t), arbs.message(t), fc.nat())),
        fc.constantFrom('nmae', 'typo_field', 'timeoutMs'),
        ([typeName, json, pick], key) => {
          const slots = messageSlots(codec.messageType(typeName), json);
          const slot = slots[pick % slots.length];
          if (!slot || key in slot.obj) return;
          slot.obj[key] = 'x';
          const err = catchError(() => codec.encodeAny(json, typeName));
          assert.ok(err instanceof EnvoyJsonError, `expected an EnvoyJsonError for ${slot.path}.${key}`);
          assert.equal(err.path, `${slot.path}.${key}`);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a value of the wrong JSON type at any field, naming its path', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RESOURCE_TYPES).chain((t) => fc.tuple(fc.constant(t), arbs.message(t), fc.nat())),
        ([typeName, json, pick]) => {
          // A google.protobuf.Value takes any JSON: nothing to get wrong there.
          const fields = keySlots(codec.messageType(typeName), json).filter(
            (s) => s.field.resolvedType?.fullName !== '.google.protobuf.Value',
          );
          const f = fields[pick % fields.length];
          if (!f) return;
          const original = f.obj[f.key];
          // An array where a non-list value belongs, or an object where a list belongs: always wrong.
          f.obj[f.key] = Array.isArray(original) ? { not: 'a list' } : [original];
          const err = catchError(() => codec.encodeAny(json, typeName));
          assert.ok(err instanceof EnvoyJsonError, `expected an EnvoyJsonError at ${f.path}.${f.key}`);
          assert.ok(
            err.path.startsWith(`${f.path}.${f.key}`),
            `${err.path} should point at ${f.path}.${f.key}`,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
