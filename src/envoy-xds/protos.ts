// Envoy's API types, loaded from the .proto files that ship in the
// @grpc/grpc-js-xds package (deps/envoy-api, deps/xds, deps/googleapis,
// deps/protoc-gen-validate) — never copied into this repository.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

let dirs: string[] | undefined;

/** Include directories for Envoy's protos, resolved from the installed package. */
export function envoyProtoIncludeDirs(): string[] {
  if (!dirs) {
    const root = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
    dirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(root, 'deps', d));
  }
  return dirs;
}

/**
 * proto-loader options used for every service we serve: field names stay as in
 * the .proto (snake_case, like Envoy's JSON/YAML), enums as names, 64-bit
 * integers as strings, oneofs reported.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  json: true,
};

const cache = new Map<string, grpc.GrpcObject>();

/** Loads proto files (paths relative to the include dirs) as a grpc package object. */
export function loadEnvoyGrpc(files: readonly string[]): grpc.GrpcObject {
  const key = [...files].sort().join('|');
  let obj = cache.get(key);
  if (!obj) {
    const def = protoLoader.loadSync([...files], { ...LOADER_OPTIONS, includeDirs: envoyProtoIncludeDirs() });
    obj = grpc.loadPackageDefinition(def);
    cache.set(key, obj);
  }
  return obj;
}

/** Walks a dotted name (e.g. `envoy.service.auth.v3.Authorization`) in a grpc package object. */
export function lookup<T>(pkg: grpc.GrpcObject, dotted: string): T {
  let cur: unknown = pkg;
  for (const part of dotted.split('.')) {
    cur = (cur as Record<string, unknown> | undefined)?.[part];
    if (cur === undefined) throw new Error(`proto symbol not found: ${dotted}`);
  }
  return cur as T;
}
