// One list+watch loop over one resource, feeding an ObjectMirror — what
// client-go's Reflector does, and what the client library's ListWatch does
// not (it has no bookmarks, no backoff, and stops on the first error):
//
//  - list (paginated), hand the complete set to the mirror, which emits the
//    deletes a relist implies — no stale entry survives a relist;
//  - watch from the list's resourceVersion with allowWatchBookmarks and a
//    server-side timeoutSeconds (randomized so that many agents do not all
//    reconnect at once), keeping the resourceVersion of every event and
//    bookmark, and resume from it when the stream ends;
//  - 410 Gone (as an HTTP status or a watch ERROR event): relist;
//  - any other failure: retry with exponential backoff and jitter, keeping
//    the last state meanwhile — the registry keeps serving it.
import type { Logger } from 'pino';
import type { ObjectMirror } from './events.js';
import { type KubeApi, type Query, statusCodeOf, type WatchHandle } from './kube-api.js';
import { decodeObject, type Kind } from './objects.js';

export type RestartCause = 'error' | 'gone' | 'closed';

export interface BackoffOptions {
  /** First retry delay, ms (default 500). */
  readonly initialMs?: number;
  /** Longest retry delay, ms (default 30000). */
  readonly maxMs?: number;
}

export interface ReflectorOptions {
  readonly api: KubeApi;
  readonly kind: Kind;
  readonly path: string;
  readonly query?: Query;
  readonly mirror: ObjectMirror;
  readonly backoff?: BackoffOptions;
  /** Server-side watch timeout range in seconds (default 300–600, as client-go). */
  readonly watchTimeoutSeconds?: readonly [number, number];
  readonly onRestart?: (cause: RestartCause) => void;
  /**
   * HTTP statuses of a failed first list that still count as synced (with no
   * objects), e.g. 403 for a namespace the agent has no Role in: one such
   * namespace must not keep the whole agent unready. Retries continue.
   */
  readonly syncOnStatus?: readonly number[];
  readonly log?: Logger;
  /** Jitter source (tests pass a fixed one). */
  readonly random?: () => number;
}

export interface ReflectorStatus {
  readonly stream: string;
  readonly kind: Kind;
  readonly synced: boolean;
  readonly connected: boolean;
  readonly resourceVersion: string;
  readonly objects: number;
  readonly restarts: number;
  readonly lastError?: string;
}

class GoneError extends Error {}

export class Reflector {
  private stopped = true;
  /** Set by stop(): nobody should wait for a sync that will not come. */
  private halted = false;
  private loop: Promise<void> | undefined;
  private handle: WatchHandle | undefined;
  private listAbort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private resourceVersion = '';
  private _synced = false;
  private connected = false;
  private restarts = 0;
  private lastError: string | undefined;
  private readonly syncedWaiters: (() => void)[] = [];

  constructor(private readonly o: ReflectorOptions) {}

  get synced(): boolean {
    return this._synced;
  }

  get stream(): string {
    return this.o.mirror.stream;
  }

  get mirror(): ObjectMirror {
    return this.o.mirror;
  }

  /** Resolves once the first list has been applied (or the reflector is stopped). */
  whenSynced(): Promise<void> {
    if (this._synced || this.halted) return Promise.resolve();
    return new Promise((resolve) => this.syncedWaiters.push(resolve));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.halted = false;
    this.loop = this.run();
  }

  /** Stops the loop; the objects stay in the mirror (call mirror.clear() to drop them). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halted = true;
    for (const w of this.syncedWaiters.splice(0)) w();
    this.handle?.abort();
    this.listAbort?.abort();
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  status(): ReflectorStatus {
    return {
      stream: this.stream,
      kind: this.o.kind,
      synced: this._synced,
      connected: this.connected,
      resourceVersion: this.resourceVersion,
      objects: this.o.mirror.size,
      restarts: this.restarts,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) {
          await this.relist();
          failures = 0;
        }
        const healthy = await this.watchOnce();
        if (this.stopped) break;
        this.restart('closed');
        // A stream that ends at once, again and again, is a failure in disguise.
        if (healthy) failures = 0;
        else {
          failures++;
          await this.sleep(this.delay(failures));
        }
      } catch (err) {
        if (this.stopped) break;
        this.connected = false;
        if (err instanceof GoneError || statusCodeOf(err) === 410) {
          this.resourceVersion = '';
          this.restart('gone');
          continue;
        }
        failures++;
        this.lastError = err instanceof Error ? err.message : String(err);
        this.o.mirror.problem(`stream ${this.stream}`, this.lastError);
        const code = statusCodeOf(err);
        if (!this._synced && code !== undefined && this.o.syncOnStatus?.includes(code)) this.markSynced();
        this.restart('error');
        const wait = this.delay(failures);
        this.o.log?.warn(
          { stream: this.stream, err: this.lastError, retryInMs: Math.round(wait), failures },
          'kubernetes list/watch failed; serving the last state and retrying',
        );
        await this.sleep(wait);
      }
    }
    this.connected = false;
  }

  private async relist(): Promise<void> {
    this.listAbort = new AbortController();
    try {
      const list = await this.o.api.list(this.o.path, this.o.query ?? {}, this.listAbort.signal);
      if (this.stopped) return;
      this.o.mirror.replace(
        [this.o.kind],
        list.items.map((item) => decodeObject(this.o.kind, item)),
      );
      this.resourceVersion = list.resourceVersion;
      this.lastError = undefined;
      this.o.mirror.problem(`stream ${this.stream}`, undefined);
      this.markSynced();
    } finally {
      this.listAbort = undefined;
    }
  }

  private markSynced(): void {
    if (this._synced) return;
    this._synced = true;
    for (const w of this.syncedWaiters.splice(0)) w();
  }

  /** Watches until the stream ends; returns whether it was a healthy stream (lived or carried events). */
  private async watchOnce(): Promise<boolean> {
    const [lo, hi] = this.o.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.round(lo + (this.o.random ?? Math.random)() * (hi - lo));
    const started = Date.now();
    let events = 0;
    let gone = false;
    let failure: Error | undefined;
    const handle = this.o.api.watch(
      this.o.path,
      { ...this.o.query, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
      (type, object) => {
        if (gone || failure || this.stopped) return;
        events++;
        if (type === 'ERROR') {
          const code = statusCodeOf(object);
          if (code === 410) gone = true;
          else
            failure = new Error(`watch ${this.o.path}: ERROR event ${JSON.stringify(object).slice(0, 200)}`);
          handle.abort();
          return;
        }
        const rv = resourceVersionOf(object);
        if (type === 'ADDED' || type === 'MODIFIED') this.o.mirror.upsert(decodeObject(this.o.kind, object));
        else if (type === 'DELETED') this.o.mirror.remove(this.o.kind, object);
        if (rv) this.resourceVersion = rv;
      },
    );
    this.handle = handle;
    void handle.connected.then(() => {
      if (this.handle === handle) this.connected = true;
    });
    // The server should end the stream at timeoutSeconds; a silent half-open
    // connection must not leave us deaf forever.
    const watchdog = setTimeout(() => handle.abort(), (timeoutSeconds + 30) * 1000);
    watchdog.unref();
    try {
      await handle.done;
    } catch (err) {
      if (!gone && !failure && !this.stopped) throw err;
    } finally {
      clearTimeout(watchdog);
      this.handle = undefined;
      this.connected = false;
    }
    if (gone) throw new GoneError('resourceVersion too old');
    if (failure) throw failure;
    return events > 0 || Date.now() - started > 1000;
  }

  private restart(cause: RestartCause): void {
    this.restarts++;
    this.o.onRestart?.(cause);
  }

  private delay(failures: number): number {
    return backoffDelay(failures, this.o.backoff, this.o.random ?? Math.random);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => this.wake?.(), ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

/** Exponential backoff with equal jitter (half fixed, half random), capped at maxMs. */
export function backoffDelay(
  failures: number,
  o: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = o.initialMs ?? 500;
  const max = o.maxMs ?? 30_000;
  const base = Math.min(max, initial * 2 ** Math.min(Math.max(failures, 1) - 1, 30));
  return base / 2 + random() * (base / 2);
}

function resourceVersionOf(object: unknown): string | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const meta = (object as { metadata?: { resourceVersion?: unknown } }).metadata;
  return typeof meta?.resourceVersion === 'string' && meta.resourceVersion !== ''
    ? meta.resourceVersion
    : undefined;
}
