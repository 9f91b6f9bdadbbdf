// The Kubernetes objects the inventory reads, parsed once at the boundary into
// small typed records. Only what membership, IP mapping and credentials need is
// kept, so a record costs a few hundred bytes however large the object was.
// Both sources (Kubernetes informers and the YAML folder) decode through
// decodeObject, so the registry sees the same records whatever the source.
import { type AppType, isAppType } from '../../policy/types.js';
import { FieldReader, isObj, type Obj, type OwnerRef, objectName, readMeta } from './fields.js';
import { canonicalIp } from './ip.js';
import { decodeMultiAgentSystem, type MultiAgentSystemRecord } from './mas.js';

export type { OwnerRef } from './fields.js';
export type { MultiAgentSystemRecord } from './mas.js';

/** Label on a namespace that makes the agent manage its pods (ARCHITECTURE.md §2). */
export const MANAGED_NAMESPACE_LABEL = 'casa.io/injection';
export const MANAGED_NAMESPACE_VALUE = 'enabled';
/** Pod label naming the MAS app a pod belongs to; wins over the workload name. */
export const APP_LABEL = 'casa.io/app';
/** Pod label overriding the app type of the pod's app. */
export const APP_TYPE_LABEL = 'casa.io/app-type';
/** Suffix of the Secret holding an app's OAuth2 client credentials. */
export const CREDENTIALS_SECRET_SUFFIX = '-oauth2-credentials';
/** Labels the CASA operator puts on the credentials Secrets it creates. */
export const MAS_NAME_LABEL = 'casa.io/mas-name';
/** Our label tying a credentials Secret to one app of that MAS (see app-id.ts). */
export const APP_NAME_LABEL = 'casa.io/app-name';

export const KINDS = [
  'Namespace',
  'Pod',
  'ReplicaSet',
  'MultiAgentSystem',
  'Secret',
  'Service',
  'EndpointSlice',
] as const;
export type Kind = (typeof KINDS)[number];

/** apiVersion per kind; objects of other versions or kinds are ignored. */
export const API_VERSIONS: Readonly<Record<Kind, string>> = {
  Namespace: 'v1',
  Pod: 'v1',
  ReplicaSet: 'apps/v1',
  MultiAgentSystem: 'casa.io/v1alpha1',
  Secret: 'v1',
  Service: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
};

const NAMESPACED: Readonly<Record<Kind, boolean>> = {
  Namespace: false,
  Pod: true,
  ReplicaSet: true,
  MultiAgentSystem: true,
  Secret: true,
  Service: true,
  EndpointSlice: true,
};

export interface NamespaceRecord {
  readonly kind: 'Namespace';
  readonly key: string;
  readonly name: string;
  readonly managed: boolean;
}

export interface PodRecord {
  readonly kind: 'Pod';
  /** `namespace/name`; the identity of a pod is its `uid`. */
  readonly key: string;
  /** `metadata.uid`; `<namespace>/<name>` for hand-written YAML without one. */
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly nodeName?: string;
  /** Canonical IPs from `status.podIPs` (else `status.podIP`). */
  readonly ips: readonly string[];
  readonly phase: string;
  readonly terminating: boolean;
  /** Host-network pods share the node's IP: they can never be told apart by address. */
  readonly hostNetwork: boolean;
  /** Epoch ms of `metadata.creationTimestamp` (0 when absent). */
  readonly createdAt: number;
  readonly labels: Readonly<Record<string, string>>;
  /** The ownerReference with `controller: true`, if any. */
  readonly controller?: OwnerRef;
}

export interface ReplicaSetRecord {
  readonly kind: 'ReplicaSet';
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly controller?: OwnerRef;
}

export interface SecretRecord {
  readonly kind: 'Secret';
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  /** The name without `-oauth2-credentials`: the app id this Secret is for. */
  readonly appId: string;
  readonly masName?: string;
  readonly appName?: string;
  readonly credentials?: { readonly clientId: string; readonly clientSecret: string };
  /** Why `credentials` is missing (names keys, never values). */
  readonly problem?: string;
}

export interface ServicePort {
  readonly port: number;
  readonly protocol: string;
  readonly name?: string;
}

export interface ServiceRecord {
  readonly kind: 'Service';
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly clusterIps: readonly string[];
  /** `spec.selector`; undefined for a Service without one (manual EndpointSlices). */
  readonly selector?: Readonly<Record<string, string>>;
  readonly ports: readonly ServicePort[];
}

export interface EndpointSliceRecord {
  readonly kind: 'EndpointSlice';
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  /** Label `kubernetes.io/service-name`. */
  readonly serviceName?: string;
  readonly addresses: readonly string[];
}

export type InventoryObject =
  | NamespaceRecord
  | PodRecord
  | ReplicaSetRecord
  | MultiAgentSystemRecord
  | SecretRecord
  | ServiceRecord
  | EndpointSliceRecord;

export type Decoded =
  | { readonly status: 'ok'; readonly object: InventoryObject }
  /** Not an object the inventory keeps (another kind, or a Secret that holds no app credentials). */
  | { readonly status: 'ignored' }
  /** `key` is set when the object could still be named, so its last good state can be kept. */
  | { readonly status: 'invalid'; readonly kind: Kind; readonly key?: string; readonly error: string };

export function isKind(v: unknown): v is Kind {
  return typeof v === 'string' && (KINDS as readonly string[]).includes(v);
}

/** The store key of a raw object (`namespace/name`, or `name` for namespaces), if readable. */
export function objectKey(kind: Kind, raw: unknown): string | undefined {
  const m = isObj(raw) && isObj(raw.metadata) ? raw.metadata : undefined;
  if (typeof m?.name !== 'string' || m.name.trim() === '') return undefined;
  if (!NAMESPACED[kind]) return m.name.trim();
  const ns = typeof m.namespace === 'string' && m.namespace.trim() !== '' ? m.namespace.trim() : 'default';
  return `${ns}/${m.name.trim()}`;
}

/**
 * Decodes one raw object of a known kind (list items from the API carry no
 * `kind`, so the caller says which). Never throws.
 */
export function decodeObject(kind: Kind, raw: unknown): Decoded {
  if (kind === 'Secret' && !isCredentialsSecretName(raw)) return { status: 'ignored' };
  const r = new FieldReader(objectName(kind, raw));
  if (!isObj(raw))
    return { status: 'invalid', kind, error: `${kind}: expected a Kubernetes object (a mapping)` };
  try {
    return { status: 'ok', object: DECODERS[kind](r, raw) };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { status: 'invalid', kind, key: objectKey(kind, raw), error };
  }
}

/**
 * Decodes an object that carries its own `apiVersion` and `kind` (a YAML
 * document). Other kinds, and known kinds of another apiVersion, are ignored.
 */
export function decodeTypedObject(raw: unknown): Decoded {
  if (!isObj(raw) || !isKind(raw.kind)) return { status: 'ignored' };
  if (raw.apiVersion !== API_VERSIONS[raw.kind]) return { status: 'ignored' };
  return decodeObject(raw.kind, raw);
}

function isCredentialsSecretName(raw: unknown): boolean {
  const key = objectKey('Secret', raw) ?? '';
  return key.endsWith(CREDENTIALS_SECRET_SUFFIX) && !key.endsWith(`/${CREDENTIALS_SECRET_SUFFIX}`);
}

type Decoder = (r: FieldReader, raw: Obj) => InventoryObject;

const DECODERS: Readonly<Record<Kind, Decoder>> = {
  Namespace: decodeNamespace,
  Pod: decodePod,
  ReplicaSet: decodeReplicaSet,
  MultiAgentSystem: decodeMultiAgentSystem,
  Secret: decodeSecret,
  Service: decodeService,
  EndpointSlice: decodeEndpointSlice,
};

function decodeNamespace(r: FieldReader, raw: Obj): NamespaceRecord {
  const m = readMeta(r, raw, false);
  return {
    kind: 'Namespace',
    key: m.name,
    name: m.name,
    managed: m.labels[MANAGED_NAMESPACE_LABEL] === MANAGED_NAMESPACE_VALUE,
  };
}

function ip(r: FieldReader, v: unknown, field: string): string {
  const s = r.requiredStr(v, field);
  return canonicalIp(s) ?? r.fail(field, `expected an IP address, got ${JSON.stringify(s)}`);
}

function decodePod(r: FieldReader, raw: Obj): PodRecord {
  const m = readMeta(r, raw, true);
  const namespace = m.namespace ?? 'default';
  const spec = r.obj(raw.spec, 'spec') ?? {};
  const status = r.obj(raw.status, 'status') ?? {};
  const ips: string[] = [];
  r.list(status.podIPs, 'status.podIPs').forEach((entry, i) => {
    const e = r.requiredObj(entry, `status.podIPs[${i}]`);
    const a = ip(r, e.ip, `status.podIPs[${i}].ip`);
    if (!ips.includes(a)) ips.push(a);
  });
  if (status.podIP !== undefined && status.podIP !== null && status.podIP !== '') {
    const a = ip(r, status.podIP, 'status.podIP');
    // podIPs[0] is podIP by API contract; a file may give only podIP.
    if (!ips.includes(a)) ips.unshift(a);
  }
  const controller = m.ownerReferences.find((o) => o.controller);
  const nodeName = r.str(spec.nodeName, 'spec.nodeName');
  return {
    kind: 'Pod',
    key: `${namespace}/${m.name}`,
    uid: m.uid ?? `${namespace}/${m.name}`,
    namespace,
    name: m.name,
    ...(nodeName ? { nodeName } : {}),
    ips,
    phase: r.str(status.phase, 'status.phase') ?? 'Pending',
    terminating: m.deleting,
    hostNetwork: r.bool(spec.hostNetwork, 'spec.hostNetwork') ?? false,
    createdAt: m.createdAt ?? 0,
    labels: m.labels,
    ...(controller ? { controller } : {}),
  };
}

function decodeReplicaSet(r: FieldReader, raw: Obj): ReplicaSetRecord {
  const m = readMeta(r, raw, true);
  const namespace = m.namespace ?? 'default';
  const controller = m.ownerReferences.find((o) => o.controller);
  return {
    kind: 'ReplicaSet',
    key: `${namespace}/${m.name}`,
    namespace,
    name: m.name,
    ...(m.uid ? { uid: m.uid } : {}),
    ...(controller ? { controller } : {}),
  };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function secretValue(r: FieldReader, data: Obj, stringData: Obj, key: string): string | undefined {
  const plain = stringData[key];
  // The apiserver merges stringData over data on write; a file may carry either.
  if (plain !== undefined && plain !== null) {
    if (typeof plain !== 'string') r.fail(`stringData.${key}`, 'expected a string');
    return plain.trim() === '' ? undefined : plain.trim();
  }
  const encoded = data[key];
  if (encoded === undefined || encoded === null) return undefined;
  if (typeof encoded !== 'string') r.fail(`data.${key}`, 'expected a base64 string');
  const compact = encoded.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) r.fail(`data.${key}`, 'is not valid base64');
  const value = Buffer.from(compact, 'base64').toString('utf8').trim();
  return value === '' ? undefined : value;
}

function decodeSecret(r: FieldReader, raw: Obj): SecretRecord {
  const m = readMeta(r, raw, true);
  const namespace = m.namespace ?? 'default';
  const data = r.obj(raw.data, 'data') ?? {};
  const stringData = r.obj(raw.stringData, 'stringData') ?? {};
  const clientId = secretValue(r, data, stringData, 'client_id');
  const clientSecret = secretValue(r, data, stringData, 'client_secret');
  const missing = [clientId ? undefined : 'client_id', clientSecret ? undefined : 'client_secret'].filter(
    (k): k is string => k !== undefined,
  );
  const masName = m.labels[MAS_NAME_LABEL];
  const appName = m.labels[APP_NAME_LABEL];
  return {
    kind: 'Secret',
    key: `${namespace}/${m.name}`,
    namespace,
    name: m.name,
    appId: m.name.slice(0, -CREDENTIALS_SECRET_SUFFIX.length),
    ...(masName ? { masName } : {}),
    ...(appName ? { appName } : {}),
    ...(clientId && clientSecret
      ? { credentials: { clientId, clientSecret } }
      : { problem: `missing or empty key(s) ${missing.join(', ')}` }),
  };
}

function decodeService(r: FieldReader, raw: Obj): ServiceRecord {
  const m = readMeta(r, raw, true);
  const namespace = m.namespace ?? 'default';
  const spec = r.obj(raw.spec, 'spec') ?? {};
  const ports = r.list(spec.ports, 'spec.ports').map((p, i): ServicePort => {
    const f = `spec.ports[${i}]`;
    const o = r.requiredObj(p, f);
    if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65535) {
      r.fail(`${f}.port`, 'expected an integer from 1 to 65535');
    }
    const name = r.str(o.name, `${f}.name`);
    return { port: o.port, protocol: r.str(o.protocol, `${f}.protocol`) ?? 'TCP', ...(name ? { name } : {}) };
  });
  const rawIps =
    spec.clusterIPs !== undefined ? r.list(spec.clusterIPs, 'spec.clusterIPs') : [spec.clusterIP];
  const clusterIps: string[] = [];
  rawIps.forEach((v, i) => {
    if (v === undefined || v === null || v === '' || v === 'None') return;
    const field = spec.clusterIPs !== undefined ? `spec.clusterIPs[${i}]` : 'spec.clusterIP';
    const a = ip(r, v, field);
    if (!clusterIps.includes(a)) clusterIps.push(a);
  });
  const selector = spec.selector === undefined ? undefined : r.stringMap(spec.selector, 'spec.selector');
  return {
    kind: 'Service',
    key: `${namespace}/${m.name}`,
    namespace,
    name: m.name,
    clusterIps,
    ...(selector && Object.keys(selector).length > 0 ? { selector } : {}),
    ports,
  };
}

function decodeEndpointSlice(r: FieldReader, raw: Obj): EndpointSliceRecord {
  const m = readMeta(r, raw, true);
  const namespace = m.namespace ?? 'default';
  const addresses: string[] = [];
  r.list(raw.endpoints, 'endpoints').forEach((e, i) => {
    const ep = r.requiredObj(e, `endpoints[${i}]`);
    r.list(ep.addresses, `endpoints[${i}].addresses`).forEach((a, j) => {
      const c = ip(r, a, `endpoints[${i}].addresses[${j}]`);
      if (!addresses.includes(c)) addresses.push(c);
    });
  });
  const serviceName = m.labels['kubernetes.io/service-name'];
  return {
    kind: 'EndpointSlice',
    key: `${namespace}/${m.name}`,
    namespace,
    name: m.name,
    ...(serviceName ? { serviceName } : {}),
    addresses,
  };
}

/** The `casa.io/app-type` label of a pod as an app type; undefined when absent. */
export function appTypeLabel(pod: PodRecord): AppType | 'invalid' | undefined {
  const v = pod.labels[APP_TYPE_LABEL];
  if (v === undefined) return undefined;
  return isAppType(v) ? v : 'invalid';
}
