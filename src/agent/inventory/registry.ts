// The workload registry: consumes inventory events (from the Kubernetes or
// the file source, identically) and answers the WorkloadDirectory questions
// with map lookups. Reads are always current — a read after an event sees it —
// while change listeners are told once per burst (coalesced on a short timer),
// since what they do (rebuild an xDS snapshot) is expensive.
import type { Logger } from 'pino';
import type {
  AppCredentials,
  AppIdentity,
  Endpoint,
  MultiAgentSystem,
  ServiceTarget,
  Workload,
} from '../../policy/types.js';
import { parseServiceHost, type ServiceInfo } from '../render/app-services.js';
import { AppCatalog, type AppEntry } from './catalog.js';
import type { WorkloadDirectory } from './directory.js';
import type { InventoryEvent, InventorySink } from './events.js';
import { canonicalIp } from './ip.js';
import { membership } from './membership.js';
import { KINDS, type Kind, type PodRecord, type ServiceRecord } from './objects.js';
import { PodIndex } from './pod-index.js';
import { ObjectStore } from './store.js';

export interface WorkloadRegistryOptions {
  /** This node's name: pods with this `spec.nodeName` are local. Unset: every pod is local (single-node dev). */
  readonly nodeName?: string;
  /** Cluster DNS domain for Service host names (default `cluster.local`). */
  readonly clusterDomain?: string;
  /** How long change notifications wait to coalesce a burst, in ms (default 10; 0 = next macrotask). */
  readonly coalesceMs?: number;
  readonly log?: Logger;
}

export interface InventoryProblem {
  readonly stream: string;
  readonly ref: string;
  readonly message: string;
}

export interface RegistryStats {
  readonly objects: Readonly<Record<Kind, number>>;
  /** Managed pods on this node / anywhere (each pod that claims an IP and maps to an app). */
  readonly localWorkloads: number;
  readonly clusterWorkloads: number;
}

type Resolved = {
  readonly workload: Workload | undefined;
  readonly entry?: AppEntry;
  readonly warning?: string;
};

export class WorkloadRegistry implements WorkloadDirectory, InventorySink {
  private readonly store = new ObjectStore();
  private readonly pods = new PodIndex();
  private readonly problemsByRef = new Map<string, InventoryProblem>();
  private readonly listeners = new Set<() => void>();
  private readonly clusterDomain: string;
  private readonly coalesceMs: number;
  private catalogCache: AppCatalog | undefined;
  private readonly resolved = new Map<string, Resolved>();
  /** IP → workload (null: a pod claims it but is no app): one map lookup on the hot path. */
  private readonly byIpMemo = new Map<string, Workload | null>();
  private readonly serviceApps = new Map<string, AppEntry | null>();
  private localCache: readonly Workload[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private notified = 0;
  private closed = false;
  private _version = 0;

  constructor(private readonly options: WorkloadRegistryOptions = {}) {
    this.clusterDomain = options.clusterDomain ?? 'cluster.local';
    this.coalesceMs = options.coalesceMs ?? 10;
  }

  get version(): number {
    return this._version;
  }

  // ---- InventorySink -------------------------------------------------------

  apply(event: InventoryEvent): void {
    if (event.type === 'problem') {
      const id = `${event.stream}\u0000${event.ref}`;
      if (event.message === undefined) this.problemsByRef.delete(id);
      else {
        this.problemsByRef.set(id, { stream: event.stream, ref: event.ref, message: event.message });
        // Stream failures are logged by the reflector, with its retry schedule.
        if (!event.ref.startsWith('stream ')) {
          this.options.log?.warn(
            { stream: event.stream, ref: event.ref, problem: event.message },
            'inventory input rejected; keeping its last good state',
          );
        }
      }
      return;
    }
    const change = this.store.apply(event);
    if (!change) return;
    if (change.kind === 'Pod') {
      const before = change.before as PodRecord | undefined;
      const after = change.after as PodRecord | undefined;
      if (before) {
        this.pods.remove(before.uid);
        this.resolved.delete(before.uid);
        for (const ip of before.ips) this.byIpMemo.delete(ip);
      }
      if (after) {
        this.pods.upsert(after);
        this.resolved.delete(after.uid);
        for (const ip of after.ips) this.byIpMemo.delete(ip);
      }
      // Selector-matched Services depend on which pods exist.
      this.serviceApps.clear();
    } else {
      this.catalogCache = undefined;
      this.resolved.clear();
      this.byIpMemo.clear();
      this.serviceApps.clear();
    }
    this.localCache = undefined;
    this._version++;
    this.schedule();
  }

  // ---- WorkloadDirectory -----------------------------------------------------

  podByIp(ip: string): Workload | undefined {
    const hit = this.byIpMemo.get(ip);
    if (hit !== undefined) return hit ?? undefined;
    const c = this.pods.byIp(ip) ? ip : canonicalIp(ip);
    const pod = c === undefined ? undefined : this.pods.byIp(c);
    if (!pod || c === undefined) return undefined;
    const w = this.resolve(pod).workload;
    // Only canonical IPs a pod claims are remembered, so the memo is bounded by the pods.
    if (c === ip) this.byIpMemo.set(c, w ?? null);
    return w;
  }

  resolveDestination(ip: string | undefined, host: string | undefined): Endpoint | undefined {
    if (ip !== undefined && ip !== '') {
      const known = this.resolveAddress(ip);
      if (known !== 'unknown') return known;
    }
    if (host === undefined || host === '') return undefined;
    const entry = this.catalog().appByHost(host);
    if (!entry?.managed) return undefined;
    return this.hostTarget(entry);
  }

  /**
   * What an address is, without looking at the Host header: a managed
   * workload or Service, `undefined` for an address known to be something
   * unmanaged (a pod or Service the inventory holds that is no app), or
   * `'unknown'`. Callers that must not trust a Host header for an address the
   * inventory has never seen use this instead of resolveDestination.
   */
  resolveAddress(ip: string): Endpoint | undefined | 'unknown' {
    const c = canonicalIp(ip);
    if (c === undefined) return 'unknown';
    const pod = this.pods.byIp(c);
    if (pod) return this.resolve(pod).workload;
    const cat = this.catalog();
    const svc = cat.servicesByIp.get(c)?.[0];
    if (svc) return this.serviceTarget(svc);
    for (const key of cat.endpointIps.get(c) ?? []) {
      const s = cat.services.get(key);
      const target = s ? this.serviceTarget(s) : undefined;
      if (target) return target;
    }
    return 'unknown';
  }

  appByHost(host: string): AppIdentity | undefined {
    return this.catalog().appByHost(host)?.identity;
  }

  appByWorkloadName(namespace: string, workloadName: string): AppIdentity | undefined {
    return this.catalog().appByWorkloadName(namespace, workloadName)?.identity;
  }

  credentials(identity: AppIdentity): AppCredentials | undefined {
    return this.catalog().credentials.get(`${identity.mas.namespace}/${identity.appId}`)?.credentials;
  }

  multiAgentSystems(): readonly MultiAgentSystem[] {
    return this.catalog().multiAgentSystems;
  }

  localWorkloads(): readonly Workload[] {
    if (this.localCache) return this.localCache;
    const node = this.options.nodeName;
    const out: Workload[] = [];
    for (const pod of this.pods.all()) {
      if (node !== undefined && pod.nodeName !== node) continue;
      if (this.pods.byIp(pod.ips[0] ?? '')?.uid !== pod.uid) continue;
      const w = this.resolve(pod).workload;
      if (w) out.push(w);
    }
    out.sort((a, b) => (a.namespace + a.podName < b.namespace + b.podName ? -1 : 1));
    this.localCache = out;
    return out;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- diagnostics and rendering ---------------------------------------------

  /** Whether `namespace` carries `casa.io/injection=enabled`. */
  isManagedNamespace(namespace: string): boolean {
    return this.catalog().managedNamespaces.has(namespace);
  }

  /** Services known, in the renderer's shape (sorted by namespace/name). */
  services(): ServiceInfo[] {
    return [...this.store.values('Service')]
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .map((s) => ({ namespace: s.namespace, name: s.name, ports: s.ports, clusterIps: s.clusterIps }));
  }

  /** Objects that could not be read (the last good state of each is kept). */
  problems(): InventoryProblem[] {
    return [...this.problemsByRef.values()];
  }

  /**
   * Every ambiguity, conflict, rejected input and failing stream, one line
   * each (sorted, deduplicated), at most `limit` lines plus a count of the rest.
   */
  warnings(limit = 200): string[] {
    const out = new Set<string>(this.catalog().warnings);
    for (const s of this.store.values('Secret')) {
      if (s.problem) out.add(`Secret ${s.key}: ${s.problem}`);
    }
    for (const { ip, pods } of this.pods.conflicts()) {
      out.add(
        `IP ${ip} is claimed by pods ${pods.map((p) => `${p.key} (uid ${p.uid})`).join(', ')}; using the newest, ${pods[0]?.key}`,
      );
    }
    for (const pod of this.pods.all()) {
      const w = this.resolve(pod).warning;
      if (w) out.add(w);
    }
    for (const p of this.problemsByRef.values()) out.add(`${p.ref} (${p.stream}): ${p.message}`);
    const all = [...out].sort();
    if (all.length <= limit) return all;
    return [...all.slice(0, limit), `… and ${all.length - limit} more`];
  }

  stats(): RegistryStats {
    const objects = Object.fromEntries(KINDS.map((k) => [k, this.store.count(k)])) as Record<Kind, number>;
    let cluster = 0;
    for (const pod of this.pods.all()) {
      if (this.pods.byIp(pod.ips[0] ?? '')?.uid === pod.uid && this.resolve(pod).workload) cluster++;
    }
    return { objects, localWorkloads: this.localWorkloads().length, clusterWorkloads: cluster };
  }

  /** Stops pending notifications and drops listeners. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  // ---- internals ---------------------------------------------------------------

  private catalog(): AppCatalog {
    this.catalogCache ??= new AppCatalog({
      namespaces: this.store.values('Namespace'),
      multiAgentSystems: this.store.values('MultiAgentSystem'),
      secrets: this.store.values('Secret'),
      services: this.store.values('Service'),
      endpointSlices: this.store.values('EndpointSlice'),
      replicaSets: this.store.values('ReplicaSet'),
      clusterDomain: this.clusterDomain,
    });
    return this.catalogCache;
  }

  /** The workload of a pod that claims an IP (memoized until the pod or the catalog changes). */
  private resolve(pod: PodRecord): Resolved {
    const hit = this.resolved.get(pod.uid);
    if (hit) return hit;
    const m = membership(pod, this.catalog());
    const workload: Workload | undefined =
      m.entry && m.type
        ? {
            ...m.entry.identity,
            type: m.type,
            kind: 'pod',
            namespace: pod.namespace,
            podName: pod.name,
            podUid: pod.uid,
            ips: pod.ips,
            ...(pod.nodeName ? { nodeName: pod.nodeName } : {}),
          }
        : undefined;
    const r: Resolved = {
      workload,
      ...(workload && m.entry ? { entry: m.entry } : {}),
      ...(m.warning ? { warning: m.warning } : {}),
    };
    this.resolved.set(pod.uid, r);
    return r;
  }

  /** The app behind a Service: named by an app's `baseUrl.host`, else the one app whose pods it selects. */
  private serviceApp(svc: ServiceRecord): AppEntry | undefined {
    const cat = this.catalog();
    const named = cat.serviceApp.get(svc.key);
    if (named) return named.managed ? named : undefined;
    const memo = this.serviceApps.get(svc.key);
    if (memo !== undefined) return memo ?? undefined;
    let best: AppEntry | undefined;
    const selector = svc.selector;
    if (selector && cat.managedNamespaces.has(svc.namespace)) {
      for (const pod of this.pods.inNamespace(svc.namespace)) {
        if (!Object.entries(selector).every(([k, v]) => pod.labels[k] === v)) continue;
        const e = this.resolve(pod).entry;
        if (e && (!best || e.rank < best.rank)) best = e;
      }
    }
    this.serviceApps.set(svc.key, best ?? null);
    return best;
  }

  private serviceTarget(svc: ServiceRecord): ServiceTarget | undefined {
    const e = this.serviceApp(svc);
    if (!e) return undefined;
    return {
      ...e.identity,
      kind: 'service',
      namespace: svc.namespace,
      serviceName: svc.name,
      clusterIps: svc.clusterIps,
    };
  }

  private hostTarget(entry: AppEntry): ServiceTarget {
    const host = entry.identity.app.baseUrl?.host ?? '';
    const ref = parseServiceHost(host, entry.identity.mas.namespace, this.clusterDomain);
    const svc = ref ? this.catalog().services.get(`${ref.namespace}/${ref.name}`) : undefined;
    return {
      ...entry.identity,
      kind: 'service',
      namespace: ref?.namespace ?? entry.identity.mas.namespace,
      serviceName: ref?.name ?? host,
      clusterIps: svc?.clusterIps ?? [],
    };
  }

  private schedule(): void {
    if (this.timer || this.closed || this.listeners.size === 0) return;
    this.timer = setTimeout(() => this.flush(), this.coalesceMs);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = undefined;
    if (this.notified === this._version) return;
    this.notified = this._version;
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch (err) {
        this.options.log?.error({ err }, 'inventory change listener failed');
      }
    }
  }
}
