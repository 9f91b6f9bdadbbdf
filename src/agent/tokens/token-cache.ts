// The bounded store under every token cache: an LRU limited in entries AND
// accounted bytes (lru-cache `max` + `maxSize`), where each entry carries its
// own absolute expiry read from an injected clock. Expiry is checked on read
// (no timers), so tests move time by moving the clock.
import { LRUCache } from 'lru-cache';

export interface TokenCacheOptions {
  /** Entries at most (config `cacheMaxEntries`). */
  readonly maxEntries: number;
  /** Accounted bytes at most (config `cacheMaxBytes`); one entry may use all of it at most. */
  readonly maxBytes: number;
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
}

export interface CacheStats {
  readonly entries: number;
  /** Accounted bytes: an estimate of the heap the entries hold. */
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
}

interface Entry<V> {
  readonly value: V;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly size: number;
}

/** Fixed cost of an entry beyond its strings: map slot, entry object, LRU links. */
export const ENTRY_OVERHEAD_BYTES = 160;

export class TokenCache<V extends object | string> {
  readonly #lru: LRUCache<string, Entry<V>>;
  readonly #now: () => number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #hits = 0;
  #misses = 0;

  constructor(opts: TokenCacheOptions) {
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 1) {
      throw new RangeError(`cacheMaxEntries: expected an integer >= 1, got ${opts.maxEntries}`);
    }
    if (!Number.isInteger(opts.maxBytes) || opts.maxBytes < ENTRY_OVERHEAD_BYTES) {
      throw new RangeError(
        `cacheMaxBytes: expected an integer >= ${ENTRY_OVERHEAD_BYTES}, got ${opts.maxBytes}`,
      );
    }
    this.#maxEntries = opts.maxEntries;
    this.#maxBytes = opts.maxBytes;
    this.#now = opts.now ?? Date.now;
    this.#lru = new LRUCache<string, Entry<V>>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (e) => e.size,
    });
  }

  now(): number {
    return this.#now();
  }

  /** The live value for `key`; an expired entry is dropped and counts as a miss. */
  get(key: string): V | undefined {
    const e = this.#lru.get(key);
    if (e !== undefined && e.expiresAt > this.#now()) {
      this.#hits++;
      return e.value;
    }
    if (e !== undefined) this.#lru.delete(key);
    this.#misses++;
    return undefined;
  }

  /** Like get, without touching recency or counters. */
  peek(key: string): V | undefined {
    const e = this.#lru.peek(key);
    return e !== undefined && e.expiresAt > this.#now() ? e.value : undefined;
  }

  /**
   * Stores `value` until `expiresAt` (ms). `size` is the accounted size of
   * the value's own strings; the key and a fixed overhead are added. Returns
   * false when nothing was stored (already expired, or larger than the cache).
   */
  set(key: string, value: V, expiresAt: number, size: number): boolean {
    if (!(expiresAt > this.#now())) return false;
    const total = size + key.length + ENTRY_OVERHEAD_BYTES;
    if (total > this.#maxBytes) {
      this.#lru.delete(key);
      return false;
    }
    this.#lru.set(key, { value, expiresAt, size: total });
    return true;
  }

  delete(key: string): void {
    this.#lru.delete(key);
  }

  clear(): void {
    this.#lru.clear();
  }

  /** Drops every expired entry; returns how many. For a periodic sweep. */
  prune(): number {
    const now = this.#now();
    const dead: string[] = [];
    for (const [k, e] of this.#lru.entries()) if (e.expiresAt <= now) dead.push(k);
    for (const k of dead) this.#lru.delete(k);
    return dead.length;
  }

  /** Keys in the cache (hashes); for tests and diagnostics. */
  keys(): string[] {
    return [...this.#lru.keys()];
  }

  get stats(): CacheStats {
    return {
      entries: this.#lru.size,
      bytes: this.#lru.calculatedSize,
      hits: this.#hits,
      misses: this.#misses,
      maxEntries: this.#maxEntries,
      maxBytes: this.#maxBytes,
    };
  }
}
