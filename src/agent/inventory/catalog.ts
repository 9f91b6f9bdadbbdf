// The apps of every MAS, indexed the ways requests find them: by the
// `casa.io/app` label, by workload name, by host, by Service address. Built
// from the objects that change rarely (namespaces, MultiAgentSystems, Secrets,
// Services, EndpointSlices, ReplicaSets) and rebuilt whole when one changes;
// pods are indexed separately (pod-index.ts) because they churn.
//
// Ambiguity is resolved deterministically — MAS namespace, MAS name, then the
// app's position in `spec.apps` — and reported as a warning, never random.
import { hostKey } from '../../policy/request.js';
import type { AppIdentity, MultiAgentSystem } from '../../policy/types.js';
import { parseServiceHost } from '../render/app-services.js';
import { labelledSecrets, resolveAppId } from './app-id.js';
import type {
  EndpointSliceRecord,
  MultiAgentSystemRecord,
  NamespaceRecord,
  ReplicaSetRecord,
  SecretRecord,
  ServiceRecord,
} from './objects.js';

/** One app of one MAS, with the identity requests resolve to. */
export interface AppEntry {
  readonly identity: AppIdentity;
  /** Position in the deterministic order (lower wins an ambiguity). */
  readonly rank: number;
  readonly managed: boolean;
}

export interface CatalogInput {
  readonly namespaces: Iterable<NamespaceRecord>;
  readonly multiAgentSystems: Iterable<MultiAgentSystemRecord>;
  readonly secrets: Iterable<SecretRecord>;
  readonly services: Iterable<ServiceRecord>;
  readonly endpointSlices: Iterable<EndpointSliceRecord>;
  readonly replicaSets: Iterable<ReplicaSetRecord>;
  readonly clusterDomain: string;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function appRef(e: AppEntry): string {
  return `${e.identity.mas.namespace}/${e.identity.mas.name}/${e.identity.app.name}`;
}

export class AppCatalog {
  readonly managedNamespaces = new Set<string>();
  readonly multiAgentSystems: readonly MultiAgentSystem[];
  readonly apps: readonly AppEntry[];
  /** `namespace/app name` → apps (label `casa.io/app`). */
  readonly byLabel = new Map<string, AppEntry[]>();
  /** `namespace/lower-case workload name` → apps. */
  readonly byWorkload = new Map<string, AppEntry[]>();
  /** hostKey → apps; literal `baseUrl.host` spellings first, then Service DNS forms. */
  private readonly byHost = new Map<string, AppEntry[]>();
  readonly credentials = new Map<string, SecretRecord>();
  readonly services = new Map<string, ServiceRecord>();
  /** ClusterIP → Services (normally one). */
  readonly servicesByIp = new Map<string, ServiceRecord[]>();
  /** Service key → the app whose `baseUrl.host` names it. */
  readonly serviceApp = new Map<string, AppEntry>();
  /** EndpointSlice address → Service keys. */
  readonly endpointIps = new Map<string, string[]>();
  readonly replicaSets = new Map<string, ReplicaSetRecord>();
  readonly warnings: string[] = [];

  constructor(input: CatalogInput) {
    for (const ns of input.namespaces) if (ns.managed) this.managedNamespaces.add(ns.name);
    for (const s of input.secrets) this.credentials.set(`${s.namespace}/${s.appId}`, s);
    for (const rs of input.replicaSets) this.replicaSets.set(rs.key, rs);
    const labelled = labelledSecrets(this.credentials.values());
    const records = [...input.multiAgentSystems].sort(
      (a, b) => cmp(a.mas.ref.namespace, b.mas.ref.namespace) || cmp(a.mas.ref.name, b.mas.ref.name),
    );
    this.multiAgentSystems = records.map((r) => r.mas);
    const apps: AppEntry[] = [];
    for (const r of records) {
      this.warnings.push(...r.problems);
      const mas = r.mas;
      const managed = this.managedNamespaces.has(mas.ref.namespace);
      if (!managed && mas.apps.length > 0) {
        this.warnings.push(
          `MultiAgentSystem ${mas.ref.namespace}/${mas.ref.name}: namespace ${mas.ref.namespace} is not managed (label casa.io/injection=enabled); its pods are not enforced`,
        );
      }
      for (const app of mas.apps) {
        const id = resolveAppId(mas, app, labelled);
        if (id.warning) this.warnings.push(id.warning);
        const identity: AppIdentity = {
          mas: mas.ref,
          ...(mas.uid ? { masUid: mas.uid } : {}),
          ...(mas.llmHost ? { llmHost: mas.llmHost } : {}),
          app,
          type: app.type,
          appId: id.appId,
        };
        apps.push({ identity, rank: apps.length, managed });
      }
    }
    this.apps = apps;
    this.indexApps(input.clusterDomain);
    this.indexServices(input.services, input.endpointSlices, input.clusterDomain);
  }

  private indexApps(clusterDomain: string): void {
    const derived = new Map<string, AppEntry[]>();
    for (const e of this.apps) {
      const ns = e.identity.mas.namespace;
      const app = e.identity.app;
      push(this.byLabel, `${ns}/${app.name}`, e);
      if (app.kubernetesWorkloadName)
        push(this.byWorkload, `${ns}/${app.kubernetesWorkloadName.toLowerCase()}`, e);
      if (app.baseUrl) {
        push(this.byHost, hostKey(app.baseUrl.host), e);
        const svc = parseServiceHost(app.baseUrl.host, ns, clusterDomain);
        if (svc) {
          for (const form of [
            `${svc.name}.${svc.namespace}`,
            `${svc.name}.${svc.namespace}.svc`,
            `${svc.name}.${svc.namespace}.svc.${clusterDomain}`,
          ]) {
            push(derived, form.toLowerCase(), e);
          }
        }
      }
    }
    for (const [host, list] of this.byHost) this.warnAmbiguous(`host ${host}`, list);
    for (const [host, list] of derived) {
      if (this.byHost.has(host)) continue;
      this.warnAmbiguous(`host ${host}`, list);
      this.byHost.set(host, list);
    }
    for (const [k, list] of this.byWorkload) this.warnAmbiguous(`workload ${k}`, list);
    for (const [k, list] of this.byLabel) this.warnAmbiguous(`casa.io/app=${k}`, list);
  }

  private warnAmbiguous(what: string, list: readonly AppEntry[]): void {
    const distinct = new Set(list.map(appRef));
    if (distinct.size < 2) return;
    this.warnings.push(
      `${what} is claimed by ${[...distinct].join(', ')}; using ${appRef(list[0] as AppEntry)}`,
    );
  }

  private indexServices(
    services: Iterable<ServiceRecord>,
    slices: Iterable<EndpointSliceRecord>,
    clusterDomain: string,
  ): void {
    for (const s of services) {
      this.services.set(s.key, s);
      for (const ip of s.clusterIps) push(this.servicesByIp, ip, s);
    }
    for (const e of this.apps) {
      const host = e.identity.app.baseUrl?.host;
      const svc = host ? parseServiceHost(host, e.identity.mas.namespace, clusterDomain) : undefined;
      if (!svc) continue;
      const key = `${svc.namespace}/${svc.name}`;
      const earlier = this.serviceApp.get(key);
      if (earlier && appRef(earlier) !== appRef(e)) {
        this.warnings.push(
          `Service ${key} is the host of ${appRef(earlier)} and ${appRef(e)}; using ${appRef(earlier)}`,
        );
        continue;
      }
      this.serviceApp.set(key, e);
    }
    for (const es of slices) {
      if (!es.serviceName) continue;
      for (const ip of es.addresses) push(this.endpointIps, ip, `${es.namespace}/${es.serviceName}`);
    }
    for (const [ip, list] of this.servicesByIp) {
      if (list.length > 1) {
        this.warnings.push(`ClusterIP ${ip} is claimed by Services ${list.map((s) => s.key).join(', ')}`);
      }
    }
  }

  /** The app whose `baseUrl.host` is `host` (port and case ignored), first by rank. */
  appByHost(host: string): AppEntry | undefined {
    return this.byHost.get(hostKey(host))?.[0];
  }

  appByWorkloadName(namespace: string, workloadName: string): AppEntry | undefined {
    return this.byWorkload.get(`${namespace}/${workloadName.toLowerCase()}`)?.[0];
  }
}
