// Concurrent identical lookups share one runtime call. The shared call runs
// under the runtime's own deadline only, never a single caller's signal: one
// Check giving up must not fail the others waiting on the same call. Each
// caller waits with its own signal instead.
import { RuntimeError } from './runtime-client.js';

export class SingleFlight<V> {
  readonly #inflight = new Map<string, Promise<V>>();

  /** Calls in progress (bounded by the runtime's concurrency + queue). */
  get size(): number {
    return this.#inflight.size;
  }

  /**
   * Joins the call in progress for `key`, or starts `fn`. `joined` tells the
   * caller whether it shared someone else's call.
   */
  run(key: string, fn: () => Promise<V>): { readonly promise: Promise<V>; readonly joined: boolean } {
    const running = this.#inflight.get(key);
    if (running) return { promise: running, joined: true };
    const p = fn().finally(() => {
      if (this.#inflight.get(key) === p) this.#inflight.delete(key);
    });
    this.#inflight.set(key, p);
    // The caller awaits `p`; this only keeps an unobserved rejection quiet.
    p.catch(() => {});
    return { promise: p, joined: false };
  }
}

/** Waits for a shared promise, rejecting with RuntimeError('timeout') when this caller's signal fires. */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, op: string): Promise<T> {
  if (!signal) return p;
  const expired = () => new RuntimeError('timeout', `runtime ${op}: the caller's deadline expired`);
  if (signal.aborted) return Promise.reject(expired());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(expired());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
