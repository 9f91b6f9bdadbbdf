// Checks proto3-JSON Envoy resources against Envoy's own .proto files (from
// @grpc/grpc-js-xds, like src/envoy-xds/protos.ts): every key must be a field
// of its message (snake_case), every enum a defined name, every Any carry a
// resolvable `@type`, at most one member of each oneof. It catches misspelled
// or misplaced fields — which Cilium would drop with only a log line — without
// Envoy; tools/envoy-validate adds Envoy's validation rules on top (e2e).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { envoyProtoIncludeDirs } from '../../src/envoy-xds/protos.js';

const FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/core/v3/extension.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
];

let root: protobuf.Root | undefined;

function envoyRoot(): protobuf.Root {
  if (root) return root;
  const dirs = envoyProtoIncludeDirs();
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => {
    for (const d of dirs) {
      const p = join(d, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  r.loadSync(FILES, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

const DURATION = /^-?\d+(\.\d{1,9})?s$/;

export function checkEnvoyJson(value: unknown, typeUrlOrName: string, path = '$'): string[] {
  const name = typeUrlOrName.slice(typeUrlOrName.lastIndexOf('/') + 1);
  let type: protobuf.Type;
  try {
    type = envoyRoot().lookupType(name);
  } catch {
    return [`${path}: unknown message type ${name}`];
  }
  const errors: string[] = [];
  checkMessage(value, type, path, errors);
  return errors;
}

function checkMessage(value: unknown, type: protobuf.Type, path: string, errors: string[]): void {
  const full = type.fullName.replace(/^\./, '');
  if (full === 'google.protobuf.Duration') {
    if (typeof value !== 'string' || !DURATION.test(value))
      errors.push(`${path}: bad Duration ${JSON.stringify(value)}`);
    return;
  }
  if (full === 'google.protobuf.Struct' || full === 'google.protobuf.Value') return;
  if (/^google\.protobuf\.(Bool|U?Int(32|64)|String|Double|Float|Bytes)Value$/.test(full)) {
    if (typeof value === 'object') errors.push(`${path}: wrapper ${full} must be a plain value`);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push(`${path}: expected a ${full} object`);
    return;
  }
  const obj = value as Record<string, unknown>;
  if (full === 'google.protobuf.Any') {
    const url = obj['@type'];
    if (typeof url !== 'string') {
      errors.push(`${path}: Any without @type`);
      return;
    }
    const { '@type': _ignored, ...rest } = obj;
    errors.push(...checkEnvoyJson(rest, url, `${path}<${url.slice(url.lastIndexOf('.') + 1)}>`));
    return;
  }
  for (const [key, v] of Object.entries(obj)) {
    if (key === '@type') {
      errors.push(`${path}: @type outside an Any`);
      continue;
    }
    const field = type.fields[key];
    if (!field) {
      errors.push(`${path}.${key}: no such field in ${full}`);
      continue;
    }
    checkField(v, field, `${path}.${key}`, errors);
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.fieldsArray.filter((f) => obj[f.name] !== undefined);
    if (set.length > 1)
      errors.push(`${path}: more than one of oneof ${oneof.name}: ${set.map((f) => f.name)}`);
  }
}

function checkField(v: unknown, field: protobuf.Field, path: string, errors: string[]): void {
  field.resolve();
  if (field instanceof protobuf.MapField) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      errors.push(`${path}: expected a map`);
      return;
    }
    for (const [k, item] of Object.entries(v))
      checkValue(item, field, `${path}[${JSON.stringify(k)}]`, errors);
    return;
  }
  if (field.repeated) {
    if (!Array.isArray(v)) {
      errors.push(`${path}: expected a list`);
      return;
    }
    v.forEach((item, i) => {
      checkValue(item, field, `${path}[${i}]`, errors);
    });
    return;
  }
  checkValue(v, field, path, errors);
}

function checkValue(v: unknown, field: protobuf.Field, path: string, errors: string[]): void {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    checkMessage(v, t, path, errors);
    return;
  }
  if (t instanceof protobuf.Enum) {
    if (typeof v !== 'string' || !(v in t.values))
      errors.push(`${path}: ${JSON.stringify(v)} is not a ${t.name}`);
    return;
  }
  switch (field.type) {
    case 'string':
    case 'bytes':
      if (typeof v !== 'string') errors.push(`${path}: expected a string`);
      return;
    case 'bool':
      if (typeof v !== 'boolean') errors.push(`${path}: expected a boolean`);
      return;
    case 'double':
    case 'float':
      if (typeof v !== 'number') errors.push(`${path}: expected a number`);
      return;
    default:
      if (!(typeof v === 'number' && Number.isInteger(v)) && !(typeof v === 'string' && /^-?\d+$/.test(v))) {
        errors.push(`${path}: expected an integer`);
      }
  }
}
