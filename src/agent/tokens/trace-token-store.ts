// The token that arrived inbound at an app in a trace, remembered for that
// app's own outbound calls (ARCHITECTURE.md §3). Inbound is enforced on the
// caller's node, so the app's outbound call may be checked by another node's
// agent: the store is node-local first and, with the casa profile, writes
// through to / reads through from the runtime's shared trace cache
// (`/k8s/namespaces/{ns}/cache/store-token|load-token`). Without one (rfc
// profile) delegation works within one node only.
//
// CASA's cache rows are insert-only, so a token already shared for a key is
// not written again on every request of the trace.
import { cacheKey } from './cache-key.js';
import { jwtExpiry } from './jwt-expiry.js';
import type { CallOptions, RuntimeClient, TraceTokenKey } from './runtime-client.js';
import { raceSignal, SingleFlight } from './single-flight.js';
import { type CacheStats, TokenCache, type TokenCacheOptions } from './token-cache.js';

export const DEFAULT_TRACE_TTL_MS = 600_000;

type SharedTraceCache = NonNullable<RuntimeClient['sharedTraceCache']>;

export interface TraceTokenStoreOptions extends TokenCacheOptions {
  /** The runtime's shared cache (casa profile); undefined = node-local only. */
  readonly shared?: SharedTraceCache;
  /** Config `traceTtl`: how long a remembered token is kept, capped by its exp. */
  readonly traceTtlMs?: number;
}

/**
 * What `remember` did, for the caller to count:
 * `local` — kept on this node (no shared cache, or already shared);
 * `shared` — kept here and written to the runtime's cache;
 * `shared_failed` — kept here, the write to the runtime failed (the request goes on);
 * `expired` — not kept: the token's exp has passed.
 */
export type RememberOutcome = 'local' | 'shared' | 'shared_failed' | 'expired';

export interface RememberOptions extends CallOptions {
  /** The token's exp in seconds, when known (introspection); else read from the JWT. */
  readonly expiresAt?: number;
  /** Write through to the shared cache (default true when there is one). */
  readonly share?: boolean;
}

export interface FoundToken {
  readonly token: string;
  readonly source: 'local' | 'shared';
}

export interface TraceTokenStoreStats extends CacheStats {
  readonly sharedHits: number;
  readonly sharedMisses: number;
  readonly sharedStores: number;
  readonly sharedStoreFailures: number;
  readonly sharedLoadFailures: number;
}

interface Remembered {
  readonly token: string;
  /** Written to the shared cache successfully. */
  readonly shared: boolean;
}

export class TraceTokenStore {
  readonly #cache: TokenCache<Remembered>;
  readonly #shared: SharedTraceCache | undefined;
  readonly #ttl: number;
  readonly #loads = new SingleFlight<string | undefined>();
  #sharedHits = 0;
  #sharedMisses = 0;
  #sharedStores = 0;
  #sharedStoreFailures = 0;
  #sharedLoadFailures = 0;

  constructor(opts: TraceTokenStoreOptions) {
    this.#cache = new TokenCache(opts);
    this.#shared = opts.shared;
    this.#ttl = opts.traceTtlMs ?? DEFAULT_TRACE_TTL_MS;
  }

  /** True when tokens are shared through the runtime (casa profile). */
  get sharesAcrossNodes(): boolean {
    return this.#shared !== undefined;
  }

  /** Remembers `token` for `key`. Never throws: a shared-cache failure is an outcome. */
  async remember(key: TraceTokenKey, token: string, opts: RememberOptions = {}): Promise<RememberOutcome> {
    const k = localKey(key);
    const until = this.#until(token, opts.expiresAt);
    if (until === undefined) return 'expired';
    const share = this.#shared !== undefined && opts.share !== false;
    const known = this.#cache.peek(k);
    if (known?.token === token && (known.shared || !share)) {
      this.#cache.set(k, known, until, entrySize(token));
      return 'local';
    }
    this.#cache.set(k, { token, shared: false }, until, entrySize(token));
    if (!share || !this.#shared) return 'local';
    try {
      await this.#shared.store(key, token, opts.signal ? { signal: opts.signal } : undefined);
    } catch {
      this.#sharedStoreFailures++;
      return 'shared_failed';
    }
    this.#sharedStores++;
    // Mark as shared only if the entry still holds this token.
    if (this.#cache.peek(k)?.token === token)
      this.#cache.set(k, { token, shared: true }, until, entrySize(token));
    return 'shared';
  }

  /**
   * The token remembered for `key`: this node's first, then the runtime's
   * shared cache. Undefined when neither has one. Throws the RuntimeError of
   * a failed shared load (the caller denies: it cannot know there is none).
   */
  async find(key: TraceTokenKey, opts?: CallOptions): Promise<FoundToken | undefined> {
    const k = localKey(key);
    const local = this.#cache.get(k);
    if (local) return { token: local.token, source: 'local' };
    const shared = this.#shared;
    if (!shared) return undefined;
    const flight = this.#loads.run(k, async () => {
      try {
        return await shared.load(key);
      } catch (e) {
        this.#sharedLoadFailures++;
        throw e;
      }
    });
    const token = await raceSignal(flight.promise, opts?.signal, 'load_trace_token');
    if (token === undefined) {
      // Not cached: another node may store it a moment later.
      if (!flight.joined) this.#sharedMisses++;
      return undefined;
    }
    if (!flight.joined) {
      this.#sharedHits++;
      const until = this.#until(token, undefined);
      if (until !== undefined) this.#cache.set(k, { token, shared: true }, until, entrySize(token));
    }
    return { token, source: 'shared' };
  }

  /** Forgets the local entry (e.g. after the runtime called the token inactive). */
  forget(key: TraceTokenKey): void {
    this.#cache.delete(localKey(key));
  }

  get stats(): TraceTokenStoreStats {
    return {
      ...this.#cache.stats,
      sharedHits: this.#sharedHits,
      sharedMisses: this.#sharedMisses,
      sharedStores: this.#sharedStores,
      sharedStoreFailures: this.#sharedStoreFailures,
      sharedLoadFailures: this.#sharedLoadFailures,
    };
  }

  keys(): string[] {
    return this.#cache.keys();
  }

  prune(): number {
    return this.#cache.prune();
  }

  #until(token: string, expiresAt: number | undefined): number | undefined {
    const now = this.#cache.now();
    let until = now + this.#ttl;
    const exp = expiresAt ?? jwtExpiry(token);
    if (exp !== undefined) until = Math.min(until, exp * 1000);
    return until > now ? until : undefined;
  }
}

/** Host names compare case-insensitively (CASA matches hosts with EqualFold). */
function localKey(key: TraceTokenKey): string {
  return cacheKey(key.namespace, key.traceId, key.appHost.toLowerCase(), key.appType, key.tool);
}

function entrySize(token: string): number {
  return token.length + 32;
}
