// `--inventory kubernetes`: the reflectors the agent runs against the
// apiserver, and the per-namespace ones it starts and stops as namespaces
// become managed. What each reads, and why, is in README.md ("What the agent
// reads"); in short:
//
//   cluster-wide   Namespaces labelled casa.io/injection=enabled
//                  Pods with spec.nodeName=<this node>        (sources)
//                  MultiAgentSystems (casa.io/v1alpha1)
//                  Services                                   (VIP → app)
//   per managed    Pods with spec.nodeName!=<this node>       (destinations)
//   namespace      Secrets of type Opaque [+ label selector]  (credentials)
//
// Secrets are never watched cluster-wide, and only `*-oauth2-credentials`
// ones are kept past the decoder. `synced` is true once every initial list —
// including those of the namespaces managed at start — has been applied.
import type { Logger } from 'pino';
import { type InventoryEvent, type InventorySink, ObjectMirror } from './events.js';
import type { KubeApi } from './kube-api.js';
import { type Kind, MANAGED_NAMESPACE_LABEL, MANAGED_NAMESPACE_VALUE } from './objects.js';
import { type BackoffOptions, Reflector, type ReflectorStatus, type RestartCause } from './reflector.js';

export interface KubeSourceOptions {
  readonly api: KubeApi;
  readonly sink: InventorySink;
  /**
   * This node (downward API `spec.nodeName`). Without it every pod of a
   * managed namespace is read through the namespace watches (all count as local).
   */
  readonly nodeName?: string;
  /**
   * Extra label selector for credentials Secrets, e.g. `casa.io/mas-name`
   * (what the CASA operator sets). Default: none — every Opaque Secret of a
   * managed namespace is listed, and all but `*-oauth2-credentials` dropped.
   */
  readonly secretLabelSelector?: string;
  readonly backoff?: BackoffOptions;
  readonly watchTimeoutSeconds?: readonly [number, number];
  /** Called on every watch restart, for `casa_inventory_watch_restarts_total{kind,cause}`. */
  readonly onWatchRestart?: (kind: string, cause: RestartCause) => void;
  readonly log?: Logger;
}

export interface KubeSourceStatus {
  readonly synced: boolean;
  readonly managedNamespaces: readonly string[];
  readonly streams: readonly ReflectorStatus[];
}

interface NamespaceStreams {
  readonly reflectors: readonly Reflector[];
}

export class KubeSource {
  private readonly global: Reflector[] = [];
  private readonly perNamespace = new Map<string, NamespaceStreams>();
  private readonly namespaces: Reflector;
  private _synced = false;
  private running = false;

  constructor(private readonly o: KubeSourceOptions) {
    // Namespace events go to the registry and also start/stop the namespace's streams.
    const nsSink: InventorySink = {
      apply: (e: InventoryEvent) => {
        o.sink.apply(e);
        if (e.type === 'problem' || e.object.kind !== 'Namespace') return;
        const ns = e.object.name;
        if (e.type !== 'delete' && e.object.managed) this.manage(ns);
        else void this.unmanage(ns);
      },
    };
    this.namespaces = this.reflector('namespaces', 'Namespace', '/api/v1/namespaces', nsSink, {
      labelSelector: `${MANAGED_NAMESPACE_LABEL}=${MANAGED_NAMESPACE_VALUE}`,
    });
    this.global.push(this.namespaces);
    if (o.nodeName !== undefined) {
      this.global.push(
        this.reflector('pods@node', 'Pod', '/api/v1/pods', o.sink, {
          fieldSelector: `spec.nodeName=${o.nodeName}`,
        }),
      );
    }
    this.global.push(
      this.reflector(
        'multiagentsystems',
        'MultiAgentSystem',
        '/apis/casa.io/v1alpha1/multiagentsystems',
        o.sink,
      ),
      this.reflector('services', 'Service', '/api/v1/services', o.sink),
    );
  }

  get synced(): boolean {
    return this._synced;
  }

  /** Starts every stream; resolves when all initial lists are applied (retrying for as long as it takes). */
  async start(): Promise<void> {
    this.running = true;
    for (const r of this.global) r.start();
    await Promise.all(this.global.map((r) => r.whenSynced()));
    // The namespaces' initial list has started their streams by now.
    await Promise.all(
      [...this.perNamespace.values()].flatMap((s) => s.reflectors.map((r) => r.whenSynced())),
    );
    if (this.running) this._synced = true;
  }

  /** Stops every watch. The registry keeps the last state (nothing is deleted). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([
      ...this.global.map((r) => r.stop()),
      ...[...this.perNamespace.values()].flatMap((s) => s.reflectors.map((r) => r.stop())),
    ]);
  }

  status(): KubeSourceStatus {
    return {
      synced: this._synced,
      managedNamespaces: [...this.perNamespace.keys()].sort(),
      streams: [...this.global, ...[...this.perNamespace.values()].flatMap((s) => s.reflectors)].map((r) =>
        r.status(),
      ),
    };
  }

  private reflector(
    stream: string,
    kind: Kind,
    path: string,
    sink: InventorySink,
    query: Readonly<Record<string, string>> = {},
    syncOnStatus?: readonly number[],
  ): Reflector {
    return new Reflector({
      ...(syncOnStatus ? { syncOnStatus } : {}),
      api: this.o.api,
      kind,
      path,
      query,
      mirror: new ObjectMirror(stream, sink),
      ...(this.o.backoff ? { backoff: this.o.backoff } : {}),
      ...(this.o.watchTimeoutSeconds ? { watchTimeoutSeconds: this.o.watchTimeoutSeconds } : {}),
      onRestart: (cause) => this.o.onWatchRestart?.(kind, cause),
      ...(this.o.log ? { log: this.o.log } : {}),
    });
  }

  private manage(ns: string): void {
    if (this.perNamespace.has(ns)) return;
    const base = `/api/v1/namespaces/${encodeURIComponent(ns)}`;
    const node = this.o.nodeName;
    const pods = this.reflector(
      `pods@ns/${ns}`,
      'Pod',
      `${base}/pods`,
      this.o.sink,
      // This node's pods come from the node-scoped stream; the rest are destinations.
      node !== undefined ? { fieldSelector: `spec.nodeName!=${node}` } : {},
    );
    const secrets = this.reflector(
      `secrets@ns/${ns}`,
      'Secret',
      `${base}/secrets`,
      this.o.sink,
      {
        fieldSelector: 'type=Opaque',
        ...(this.o.secretLabelSelector ? { labelSelector: this.o.secretLabelSelector } : {}),
      },
      // Secret access is granted per namespace (chart value rbac.secretNamespaces);
      // a managed namespace without it is a warning, not an agent that never gets ready.
      [403],
    );
    const reflectors = [pods, secrets];
    this.perNamespace.set(ns, { reflectors });
    this.o.log?.info({ namespace: ns }, 'namespace managed: watching its pods and credentials Secrets');
    if (this.running) for (const r of reflectors) r.start();
  }

  private async unmanage(ns: string): Promise<void> {
    const s = this.perNamespace.get(ns);
    if (!s) return;
    this.perNamespace.delete(ns);
    this.o.log?.info({ namespace: ns }, 'namespace no longer managed: dropping its pods and Secrets');
    // stop() silences a reflector at once, so clearing now cannot race a late event
    // (and a re-managed namespace's new streams are never touched by these deletes).
    const stopping = s.reflectors.map((r) => r.stop());
    for (const r of s.reflectors) r.mirror.clear();
    await Promise.all(stopping);
  }
}
