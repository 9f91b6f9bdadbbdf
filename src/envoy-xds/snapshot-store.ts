// SnapshotStore: what each node should see, versioned — the xDS "cache" of
// go-control-plane's split. No gRPC here: streams (sotw-stream.ts,
// delta-stream.ts) read snapshots and watch for changes; the server only moves
// bytes.
//
// A snapshot is the complete state for one node: type URL -> resource name ->
// {version, encoded Any}. Resources are encoded once, when the snapshot is set
// (a bad resource is refused here, before any client sees it). Versions are
// content hashes, so re-setting identical content changes nothing and wakes
// no stream, and a restarted agent presents the same versions as before.
import { createHash } from 'node:crypto';
import {
  type EncodedAny,
  type EnvoyCodec,
  type EnvoyJson,
  EnvoyJsonError,
  normalizeTypeUrl,
  typeName,
} from './codec.js';

export interface SnapshotResource {
  readonly name: string;
  /** Content hash of the encoded resource. */
  readonly version: string;
  readonly any: EncodedAny;
}

export interface TypeSnapshot {
  readonly typeUrl: string;
  /** Content hash over the type's (name, version) pairs: the SotW version_info. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, SnapshotResource>;
}

export interface NodeSnapshot {
  readonly node: string;
  readonly version: string;
  readonly types: ReadonlyMap<string, TypeSnapshot>;
  /** Encoded bytes held (resources only). */
  readonly bytes: number;
}

/** Resources as proto3 JSON, by type URL (or bare message name). */
export type SnapshotInput = Readonly<Record<string, readonly EnvoyJson[]>>;

/** Already-encoded resources, by type URL. */
export type EncodedSnapshotInput = Readonly<
  Record<string, readonly { readonly name: string; readonly any: EncodedAny }[]>
>;

export type SnapshotListener = (snapshot: NodeSnapshot | undefined) => void;

export interface SnapshotStoreOptions {
  readonly codec: EnvoyCodec;
  /** Refuse snapshots for more nodes than this (default 1024). */
  readonly maxNodes?: number;
  /** A listener threw; the others still ran. */
  readonly onListenerError?: (err: unknown, node: string) => void;
}

/** Version of a type with no resources. */
export const EMPTY_VERSION = hash([]);

export class SnapshotStore {
  private readonly snapshots = new Map<string, NodeSnapshot>();
  private readonly listeners = new Map<string, Set<SnapshotListener>>();
  private readonly maxNodes: number;
  private watchers = 0;

  constructor(private readonly opts: SnapshotStoreOptions) {
    this.maxNodes = opts.maxNodes ?? 1024;
  }

  /**
   * Replaces the node's snapshot with these resources (proto3 JSON, encoded
   * here). Atomic: if any resource is invalid nothing changes.
   * @throws EnvoyJsonError with a path like `$["<type url>"][3].virtual_hosts[0].domains`.
   */
  setSnapshot(node: string, input: SnapshotInput): NodeSnapshot {
    const encoded: Record<string, { name: string; any: EncodedAny }[]> = {};
    for (const [key, list] of Object.entries(input)) {
      const typeUrl = normalizeTypeUrl(key);
      if (!Array.isArray(list))
        throw new EnvoyJsonError(`$[${JSON.stringify(key)}]`, 'expected a list of resources');
      const out: { name: string; any: EncodedAny }[] = [];
      list.forEach((resource, i) => {
        const at = `$[${JSON.stringify(key)}][${i}]`;
        try {
          out.push({
            name: resourceName(typeUrl, resource),
            any: this.opts.codec.encodeAny(resource, typeUrl),
          });
        } catch (err) {
          if (err instanceof EnvoyJsonError) throw new EnvoyJsonError(at + err.path.slice(1), err.reason);
          throw err;
        }
      });
      encoded[typeUrl] = [...(encoded[typeUrl] ?? []), ...out];
    }
    return this.setEncodedSnapshot(node, encoded);
  }

  /** Like setSnapshot, for resources already encoded (names given). */
  setEncodedSnapshot(node: string, input: EncodedSnapshotInput): NodeSnapshot {
    if (!this.snapshots.has(node) && this.snapshots.size >= this.maxNodes) {
      throw new Error(`snapshot store is full (${this.maxNodes} nodes); clear a node first`);
    }
    const types = new Map<string, TypeSnapshot>();
    let bytes = 0;
    for (const [key, list] of Object.entries(input)) {
      const typeUrl = normalizeTypeUrl(key);
      const resources = new Map<string, SnapshotResource>(types.get(typeUrl)?.resources ?? []);
      for (const r of list) {
        if (typeName(r.any.type_url) !== typeName(typeUrl)) {
          throw new EnvoyJsonError(`$[${JSON.stringify(key)}]`, `resource ${r.name} is a ${r.any.type_url}`);
        }
        if (resources.has(r.name)) {
          // Clients NACK a response naming a resource twice (xds_protocol "Duplicate Resource Names").
          throw new EnvoyJsonError(
            `$[${JSON.stringify(key)}]`,
            `duplicate resource name ${JSON.stringify(r.name)}`,
          );
        }
        // A private copy: encoder output may be a slice of a shared pool.
        const value = new Uint8Array(r.any.value);
        const any = { type_url: normalizeTypeUrl(r.any.type_url), value };
        resources.set(r.name, { name: r.name, version: hash([any.type_url, value]), any });
        bytes += value.length;
      }
      const sorted = [...resources.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      types.set(typeUrl, {
        typeUrl,
        version: hash(sorted.flatMap((r) => [r.name, r.version])),
        resources: new Map(sorted.map((r) => [r.name, r])),
      });
    }
    const version = hash([...types.values()].sort(byTypeUrl).flatMap((t) => [t.typeUrl, t.version]));
    const current = this.snapshots.get(node);
    if (current && current.version === version) return current;
    const snapshot: NodeSnapshot = { node, version, types, bytes };
    this.snapshots.set(node, snapshot);
    this.notify(node, snapshot);
    return snapshot;
  }

  /**
   * Forgets the node's snapshot. Streams stop receiving updates but are not
   * told to delete anything: the client keeps its last config (fail static).
   */
  clearSnapshot(node: string): boolean {
    const had = this.snapshots.delete(node);
    if (had) this.notify(node, undefined);
    return had;
  }

  snapshot(node: string): NodeSnapshot | undefined {
    return this.snapshots.get(node);
  }

  nodes(): string[] {
    return [...this.snapshots.keys()];
  }

  /** Calls `listener` after every change of the node's snapshot; returns the unsubscribe function. */
  watch(node: string, listener: SnapshotListener): () => void {
    let set = this.listeners.get(node);
    if (!set) {
      set = new Set();
      this.listeners.set(node, set);
    }
    // A wrapper per call, so the same function may watch twice and unsubscribe once each.
    const entry: SnapshotListener = (s) => listener(s);
    set.add(entry);
    this.watchers++;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const current = this.listeners.get(node);
      if (current?.delete(entry)) this.watchers--;
      if (current && current.size === 0) this.listeners.delete(node);
    };
  }

  /** Number of active watches (all nodes, or one node). */
  watcherCount(node?: string): number {
    return node === undefined ? this.watchers : (this.listeners.get(node)?.size ?? 0);
  }

  private notify(node: string, snapshot: NodeSnapshot | undefined): void {
    const set = this.listeners.get(node);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(snapshot);
      } catch (err) {
        this.opts.onListenerError?.(err, node);
      }
    }
  }
}

/** The name a resource is served under: `cluster_name` for endpoints, `name` otherwise. */
export function resourceName(typeUrl: string, resource: EnvoyJson): string {
  const isEndpoints = typeName(typeUrl) === 'envoy.config.endpoint.v3.ClusterLoadAssignment';
  const field = isEndpoints ? 'cluster_name' : 'name';
  const value = resource?.[field] ?? resource?.[isEndpoints ? 'clusterName' : 'name'];
  if (typeof value !== 'string' || value === '') {
    throw new EnvoyJsonError(`$.${field}`, `a served resource needs a non-empty ${field}`);
  }
  return value;
}

function hash(parts: readonly (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const bytes = typeof p === 'string' ? Buffer.from(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    h.update(`${bytes.length}:`); // length-prefixed: no two part lists hash alike by concatenation
    h.update(bytes);
  }
  return h.digest('hex').slice(0, 16);
}

function byTypeUrl(a: TypeSnapshot, b: TypeSnapshot): number {
  return a.typeUrl < b.typeUrl ? -1 : a.typeUrl > b.typeUrl ? 1 : 0;
}
