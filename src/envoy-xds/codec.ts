// EnvoyCodec: Envoy resources written as proto3 JSON (as in Envoy YAML or a
// CiliumEnvoyConfig's `resources[]`) <-> the binary google.protobuf.Any that a
// DiscoveryResponse carries.
//
// Message types are loaded lazily from Envoy's .proto files shipped in
// @grpc/grpc-js-xds (protos.ts): a type name's package names its folder
// (envoy.extensions.filters.http.rbac.v3 -> envoy/extensions/filters/http/rbac/v3/),
// so any Envoy resource or typed_config can be carried without a list here.
//
// protobufjs' global `wrappers` registry is deliberately not used for the
// well-known types: it is shared by every protobufjs root in the process,
// including @grpc/proto-loader's (our gRPC services and grpc-js-xds), whose
// decoded shapes would silently change. The strict walker does it instead.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { JsonToMessage } from './json-to-message.js';
import { EnvoyJsonError, fullNameOf, isPlainObject } from './json-values.js';
import { MessageToJson } from './message-to-json.js';
import { envoyProtoIncludeDirs } from './protos.js';

export { EnvoyJsonError } from './json-values.js';

/** A proto3-JSON object as Envoy and Cilium read it (`@type` on Anys). */
export type EnvoyJson = { [key: string]: unknown };

/** google.protobuf.Any in binary form, as a DiscoveryResponse carries it. */
export interface EncodedAny {
  readonly type_url: string;
  readonly value: Uint8Array;
}

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

export interface EnvoyCodecOptions {
  /** Proto include directories; defaults to the Envoy protos in @grpc/grpc-js-xds. */
  readonly includeDirs?: readonly string[];
  /** Files to load up front (relative to the include dirs); others load on first use. */
  readonly preload?: readonly string[];
}

const require = createRequire(import.meta.url);

/** Bundled with protobufjs; loaded first so an Any may hold a well-known type. */
const WELL_KNOWN_FILES = [
  'google/protobuf/any.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/timestamp.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/wrappers.proto',
  'google/protobuf/field_mask.proto',
  'google/protobuf/empty.proto',
];

export class EnvoyCodec {
  private readonly root = new protobuf.Root();
  private readonly dirs: readonly string[];
  private readonly triedPackages = new Set<string>();
  /** Full name -> type, for names already resolved (root.lookup walks namespaces each time). */
  private readonly found = new Map<string, protobuf.Type>();
  /** Why a type could not be loaded (kept for the error message). */
  private readonly loadErrors = new Map<string, string>();
  private readonly toMessage: JsonToMessage;
  private readonly toJson: MessageToJson;

  constructor(opts: EnvoyCodecOptions = {}) {
    // descriptor.proto is imported by Envoy's annotations but is not among
    // protobufjs' bundled files; it ships in protobufjs' own google/ folder.
    const descriptorDir = dirname(
      dirname(dirname(require.resolve('protobufjs/google/protobuf/descriptor.proto'))),
    );
    this.dirs = [...(opts.includeDirs ?? envoyProtoIncludeDirs()), descriptorDir];
    this.root.resolvePath = (_origin, target) => {
      for (const d of this.dirs) {
        const p = join(d, target);
        if (existsSync(p)) return p;
      }
      return target;
    };
    this.load(WELL_KNOWN_FILES);
    const lookup = (name: string) => this.findType(name);
    this.toMessage = new JsonToMessage(lookup);
    this.toJson = new MessageToJson(lookup);
    if (opts.preload?.length) this.load(opts.preload);
  }

  /**
   * Encodes a resource into an Any. The type comes from the resource's own
   * `@type` or from `typeUrl`; if both are given they must agree.
   * @throws EnvoyJsonError naming the JSON path of an unknown field or wrong value.
   */
  encodeAny(resource: EnvoyJson, typeUrl?: string): EncodedAny {
    if (!isPlainObject(resource)) throw new EnvoyJsonError('$', 'a resource must be a JSON object');
    const own = resource['@type'];
    if (own !== undefined && typeof own !== 'string') {
      throw new EnvoyJsonError('$.@type', 'must be a type URL string');
    }
    if (own !== undefined && typeUrl !== undefined && typeName(own) !== typeName(typeUrl)) {
      throw new EnvoyJsonError('$.@type', `is ${own} but the resource is served as ${typeUrl}`);
    }
    const url = typeUrl ?? own;
    if (url === undefined) throw new EnvoyJsonError('$.@type', 'missing: say which Envoy message this is');
    const { '@type': _own, ...fields } = resource;
    const type = this.messageType(url);
    const obj = this.toMessage.message(type, fields, '$');
    return { type_url: normalizeTypeUrl(url), value: type.encode(obj).finish() };
  }

  /** Encodes a proto3-JSON message of the given type (full name or type URL) to bytes. */
  encode(typeNameOrUrl: string, json: unknown): Uint8Array {
    const type = this.messageType(typeNameOrUrl);
    return type.encode(this.toMessage.message(type, json, '$')).finish();
  }

  /** Decodes an Any back into proto3 JSON with `@type` (canonical form). */
  decodeAny(any: { readonly type_url: string; readonly value: Uint8Array }): EnvoyJson {
    return this.toJson.any({ type_url: any.type_url, value: any.value }, '$');
  }

  /** Decodes bytes of the given message type into canonical proto3 JSON. */
  decode(typeNameOrUrl: string, bytes: Uint8Array): unknown {
    const type = this.messageType(typeNameOrUrl);
    return this.toJson.message(type, type.decode(bytes) as unknown as EnvoyJson, '$');
  }

  /** The protobufjs type for a full name or type URL (loading its package on first use). */
  messageType(typeNameOrUrl: string): protobuf.Type {
    const name = typeName(typeNameOrUrl);
    const type = this.findType(name);
    if (!type) {
      const why = this.loadErrors.get(name);
      throw new EnvoyJsonError(
        '$.@type',
        `unknown message type ${name}${why ? ` (its .proto does not load: ${why})` : ''}`,
      );
    }
    return type;
  }

  /**
   * Loads .proto files (relative to the include dirs) into this codec's root.
   * Types are resolved when first used, not here: one file that cannot be
   * resolved (the package ships some v2 files without their imports) must not
   * make every other type unusable.
   */
  load(files: readonly string[]): void {
    this.root.loadSync([...files], { keepCase: true });
  }

  private findType(name: string): protobuf.Type | undefined {
    const cached = this.found.get(name);
    if (cached) return cached;
    const found = this.tryLookup(name);
    if (found) return found;
    // Load the folder of each candidate package, longest first: the type may be nested.
    const parts = name.split('.');
    for (let i = parts.length - 1; i >= 1; i--) {
      const pkg = parts.slice(0, i).join('/');
      if (this.triedPackages.has(pkg)) continue;
      this.triedPackages.add(pkg);
      for (const file of this.protoFilesIn(pkg)) {
        try {
          this.load([file]);
        } catch (err) {
          this.loadErrors.set(name, (err as Error).message);
        }
      }
      const t = this.tryLookup(name);
      if (t) return t;
    }
    return undefined;
  }

  /** A type counts as found once its own fields resolve; the result is cached. */
  private tryLookup(name: string): protobuf.Type | undefined {
    const obj = this.root.lookup(name);
    if (!(obj instanceof protobuf.Type) || fullNameOf(obj) !== name) return undefined;
    try {
      for (const field of obj.fieldsArray) field.resolve();
    } catch (err) {
      this.loadErrors.set(name, (err as Error).message);
      return undefined;
    }
    this.found.set(name, obj);
    return obj;
  }

  private protoFilesIn(pkgDir: string): string[] {
    for (const d of this.dirs) {
      const dir = join(d, pkgDir);
      if (!existsSync(dir)) continue;
      const files = readdirSync(dir)
        .filter((f) => f.endsWith('.proto'))
        .sort()
        .map((f) => `${pkgDir}/${f}`);
      if (files.length > 0) return files;
    }
    return [];
  }
}

/** `type.googleapis.com/envoy.config.listener.v3.Listener` -> `envoy.config.listener.v3.Listener`. */
export function typeName(typeNameOrUrl: string): string {
  return typeNameOrUrl.slice(typeNameOrUrl.lastIndexOf('/') + 1);
}

/** A bare type name gets the conventional `type.googleapis.com/` prefix. */
export function normalizeTypeUrl(typeNameOrUrl: string): string {
  return typeNameOrUrl.includes('/') ? typeNameOrUrl : `${TYPE_URL_PREFIX}${typeNameOrUrl}`;
}
