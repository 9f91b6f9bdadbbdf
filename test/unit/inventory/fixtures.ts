// Raw Kubernetes objects as the API (or a YAML file) would carry them, for
// the inventory tests. Builders take only what a case varies.
import { type InventorySink, ObjectMirror } from '../../../src/agent/inventory/events.js';
import { decodeTypedObject } from '../../../src/agent/inventory/objects.js';

type Raw = Record<string, unknown>;

export function namespace(name: string, managed = true): Raw {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: managed ? { 'casa.io/injection': 'enabled' } : { team: 'x' } },
  };
}

export interface PodSpec {
  readonly ns?: string;
  readonly name: string;
  readonly uid?: string;
  readonly ip?: string;
  readonly ips?: readonly string[];
  readonly node?: string;
  readonly labels?: Record<string, string>;
  readonly owner?: { kind: string; name: string; uid?: string };
  readonly phase?: string;
  readonly created?: string;
  readonly deleting?: boolean;
  readonly hostNetwork?: boolean;
}

export function pod(p: PodSpec): Raw {
  const ips = p.ips ?? (p.ip ? [p.ip] : []);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.ns ?? 'travel',
      uid: p.uid ?? `uid-${p.name}`,
      creationTimestamp: p.created ?? '2026-01-01T00:00:00Z',
      ...(p.labels ? { labels: p.labels } : {}),
      ...(p.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', controller: true, ...p.owner }] } : {}),
      ...(p.deleting ? { deletionTimestamp: '2026-01-02T00:00:00Z' } : {}),
    },
    spec: { nodeName: p.node ?? 'node-a', ...(p.hostNetwork ? { hostNetwork: true } : {}), containers: [] },
    status: {
      phase: p.phase ?? 'Running',
      ...(ips[0] ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
    },
  };
}

export interface AppSpecRaw {
  readonly name: string;
  readonly type?: string;
  readonly workload?: string;
  readonly host?: string;
  readonly prompt?: string;
}

export function mas(ns: string, name: string, apps: readonly AppSpecRaw[], llmHost?: string): Raw {
  return {
    apiVersion: 'casa.io/v1alpha1',
    kind: 'MultiAgentSystem',
    metadata: { name, namespace: ns, uid: `uid-mas-${name}`, generation: 1 },
    spec: {
      name,
      ...(llmHost ? { llm_host: llmHost } : {}),
      apps: apps.map((a) => ({
        name: a.name,
        type: a.type ?? 'agent',
        kubernetesWorkloadName: a.workload ?? a.name,
        baseUrl: { host: a.host ?? `${a.name}.${ns}:8080`, scheme: 'http' },
        ...(a.prompt ? { httpRequestSchema: { promptFieldJsonPath: a.prompt } } : {}),
      })),
    },
  };
}

export function secret(
  ns: string,
  name: string,
  values: { clientId?: string; clientSecret?: string; plain?: boolean },
  labels?: Record<string, string>,
): Raw {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const entries: Record<string, string> = {};
  if (values.clientId !== undefined)
    entries.client_id = values.plain ? values.clientId : b64(values.clientId);
  if (values.clientSecret !== undefined) {
    entries.client_secret = values.plain ? values.clientSecret : b64(values.clientSecret);
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
    ...(values.plain ? { stringData: entries } : { data: entries }),
  };
}

export function service(
  ns: string,
  name: string,
  clusterIp: string,
  selector?: Record<string, string>,
  port = 8080,
): Raw {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: {
      clusterIP: clusterIp,
      clusterIPs: [clusterIp],
      ...(selector ? { selector } : {}),
      ports: [{ port, protocol: 'TCP', name: 'http' }],
    },
  };
}

export function endpointSlice(
  ns: string,
  name: string,
  serviceName: string,
  addresses: readonly string[],
): Raw {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  };
}

export function replicaSet(
  ns: string,
  name: string,
  uid: string,
  owner?: { kind: string; name: string },
): Raw {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: ns,
      uid,
      ...(owner
        ? {
            ownerReferences: [
              { apiVersion: 'apps/v1', controller: true, uid: `uid-${owner.name}`, ...owner },
            ],
          }
        : {}),
    },
  };
}

/** Feeds raw objects to a sink through an ObjectMirror, as a source would. */
export class Feed {
  readonly mirror: ObjectMirror;
  constructor(sink: InventorySink, stream = 'test') {
    this.mirror = new ObjectMirror(stream, sink);
  }

  upsert(...raws: readonly Raw[]): this {
    for (const r of raws) this.mirror.upsert(decodeTypedObject(r));
    return this;
  }

  remove(...raws: readonly Raw[]): this {
    for (const r of raws) {
      const d = decodeTypedObject(r);
      if (d.status === 'ok') this.mirror.removeKey(d.object.kind, d.object.key);
    }
    return this;
  }
}
