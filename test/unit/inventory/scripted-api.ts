// An in-memory list/watch endpoint with the apiserver's resourceVersion rules,
// for unit tests of the reflector loop (the real apiserver is exercised in
// test/e2e/inventory). Tests drive it: change objects, end or expire watches,
// make calls fail.
import type {
  KubeApi,
  ListResult,
  Query,
  WatchEventType,
  WatchHandle,
} from '../../../src/agent/inventory/kube-api.js';
import { KubeStatusError } from '../../../src/agent/inventory/kube-api.js';

type Raw = Record<string, unknown>;

interface Watcher {
  readonly path: string;
  readonly query: Query;
  readonly onEvent: (type: WatchEventType, object: unknown) => void;
  end(err?: unknown): void;
}

function keyOf(o: Raw): string {
  const m = o.metadata as { namespace?: string; name: string };
  return `${m.namespace ?? ''}/${m.name}`;
}

export class ScriptedApi implements KubeApi {
  private readonly objects = new Map<string, Raw>();
  private rv = 100;
  /** Events with their resourceVersion, for watches that resume from an older one. */
  private readonly history: { rv: number; type: WatchEventType; object: Raw }[] = [];
  /** Oldest resourceVersion a watch may resume from (older → 410). */
  private compactedBelow = 0;
  readonly watchers = new Set<Watcher>();
  readonly calls: { op: 'list' | 'watch'; query: Query }[] = [];
  failLists = 0;
  failWatches = 0;
  listError: () => Error = () => new Error('connect ECONNREFUSED 127.0.0.1:6443');

  set(...objs: Raw[]): void {
    for (const o of objs) {
      const k = keyOf(o);
      const type: WatchEventType = this.objects.has(k) ? 'MODIFIED' : 'ADDED';
      this.emit(type, o);
      this.objects.set(k, this.stamp(o));
    }
  }

  delete(o: Raw): void {
    const k = keyOf(o);
    const cur = this.objects.get(k);
    if (!cur) return;
    this.objects.delete(k);
    this.emit('DELETED', cur);
  }

  /** Changes the state without telling current watches (as if events were lost). */
  setSilently(objs: Raw[]): void {
    this.rv++;
    this.objects.clear();
    for (const o of objs) this.objects.set(keyOf(o), this.stamp(o));
  }

  bookmark(): void {
    this.rv++;
    for (const w of this.watchers)
      w.onEvent('BOOKMARK', { kind: 'Pod', metadata: { resourceVersion: String(this.rv) } });
  }

  /** Forgets history: watches from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.history.length = 0;
  }

  /** Sends a watch ERROR 410 on every open watch, then ends them (what the apiserver does). */
  expireWatches(): void {
    for (const w of [...this.watchers]) {
      w.onEvent('ERROR', {
        kind: 'Status',
        code: 410,
        reason: 'Expired',
        message: 'too old resource version',
      });
      w.end();
    }
  }

  endWatches(err?: unknown): void {
    for (const w of [...this.watchers]) w.end(err);
  }

  async list(_path: string, query: Query): Promise<ListResult> {
    this.calls.push({ op: 'list', query });
    await Promise.resolve();
    if (this.failLists > 0) {
      this.failLists--;
      throw this.listError();
    }
    return {
      items: [...this.objects.values()].map((o) => structuredClone(o)),
      resourceVersion: String(this.rv),
    };
  }

  watch(path: string, query: Query, onEvent: (type: WatchEventType, object: unknown) => void): WatchHandle {
    this.calls.push({ op: 'watch', query });
    let ended = false;
    let finish: (err?: unknown) => void = () => {};
    let markConnected: () => void = () => {};
    const connected = new Promise<void>((resolve) => {
      markConnected = resolve;
    });
    const done = new Promise<void>((resolve, reject) => {
      finish = (err) => (err ? reject(err) : resolve());
    });
    const watcher: Watcher = {
      path,
      query,
      onEvent,
      end: (err) => {
        if (ended) return;
        ended = true;
        this.watchers.delete(watcher);
        finish(err);
      },
    };
    queueMicrotask(() => {
      if (ended) return;
      if (this.failWatches > 0) {
        this.failWatches--;
        watcher.end(new Error('socket hang up'));
        return;
      }
      const from = Number(query.resourceVersion ?? 0);
      if (from < this.compactedBelow) {
        watcher.end(new KubeStatusError(410, 'too old resource version'));
        return;
      }
      markConnected();
      for (const h of this.history) if (h.rv > from) onEvent(h.type, structuredClone(h.object));
      this.watchers.add(watcher);
    });
    return { done, connected, abort: () => watcher.end() };
  }

  private stamp(o: Raw): Raw {
    const copy = structuredClone(o);
    (copy.metadata as Raw).resourceVersion = String(this.rv);
    return copy;
  }

  private emit(type: WatchEventType, o: Raw): void {
    this.rv++;
    const object = this.stamp(o);
    this.history.push({ rv: this.rv, type, object });
    for (const w of this.watchers) w.onEvent(type, structuredClone(object));
  }
}
