// Introspection results, cached (ARCHITECTURE.md §3 "Caching"):
// - an active result lives `ttlMs` (30 s), never beyond the token's `exp`;
// - an inactive result lives `negativeTtlMs` (short: a token is rarely
//   revived, but a runtime that briefly said "unknown" must not deny for long);
// - errors are never cached;
// - concurrent identical lookups share one runtime call;
// - the key is a hash of the token and the requested tools.
// When the runtime is unreachable, cached results keep answering until their
// own end; after that the lookup throws and the Check denies (fail closed).
import type { TokenClaims } from '../../policy/types.js';
import { cacheKey } from './cache-key.js';
import type { CallOptions, RuntimeClient } from './runtime-client.js';
import { raceSignal, SingleFlight } from './single-flight.js';
import { type CacheStats, TokenCache, type TokenCacheOptions } from './token-cache.js';

export const DEFAULT_INTROSPECTION_TTL_MS = 30_000;
export const DEFAULT_NEGATIVE_TTL_MS = 5_000;

export interface IntrospectionCacheOptions extends TokenCacheOptions {
  readonly runtime: Pick<RuntimeClient, 'introspect'>;
  /** Config `introspectionTtl`. */
  readonly ttlMs?: number;
  /** Config `negativeTtl`; 0 = inactive results are not cached. */
  readonly negativeTtlMs?: number;
}

/** Where an answer came from: the cache, a runtime call of our own, or one shared with another lookup. */
export type CacheSource = 'hit' | 'miss' | 'joined';

export interface Introspected {
  readonly claims: TokenClaims;
  readonly source: CacheSource;
}

export interface IntrospectionCacheStats extends CacheStats {
  /** Lookups that shared another lookup's runtime call. */
  readonly joined: number;
  readonly inFlight: number;
}

export class IntrospectionCache {
  readonly #cache: TokenCache<TokenClaims>;
  readonly #flights = new SingleFlight<TokenClaims>();
  readonly #runtime: Pick<RuntimeClient, 'introspect'>;
  readonly #ttl: number;
  readonly #negativeTtl: number;
  #joined = 0;

  constructor(opts: IntrospectionCacheOptions) {
    this.#cache = new TokenCache(opts);
    this.#runtime = opts.runtime;
    this.#ttl = opts.ttlMs ?? DEFAULT_INTROSPECTION_TTL_MS;
    this.#negativeTtl = opts.negativeTtlMs ?? DEFAULT_NEGATIVE_TTL_MS;
  }

  /**
   * The claims for `token` as introspected with `tools`. Throws the
   * RuntimeError of the runtime call when there is no live cached answer.
   */
  async lookup(
    token: string,
    tools: readonly string[] | undefined,
    opts?: CallOptions,
  ): Promise<Introspected> {
    const wanted = tools && tools.length > 0 ? [...tools].sort() : undefined;
    const key = cacheKey(token, ...(wanted ?? []));
    const cached = this.#cache.get(key);
    if (cached) return { claims: cached, source: 'hit' };
    const flight = this.#flights.run(key, async () => {
      // No caller signal: the call is shared; it runs under the runtime deadline.
      const claims = await this.#runtime.introspect(token, wanted);
      this.#store(key, claims);
      return claims;
    });
    if (flight.joined) this.#joined++;
    const claims = await raceSignal(flight.promise, opts?.signal, 'introspect');
    return { claims, source: flight.joined ? 'joined' : 'miss' };
  }

  get stats(): IntrospectionCacheStats {
    return { ...this.#cache.stats, joined: this.#joined, inFlight: this.#flights.size };
  }

  /** Hashed keys, for tests and diagnostics. */
  keys(): string[] {
    return this.#cache.keys();
  }

  prune(): number {
    return this.#cache.prune();
  }

  clear(): void {
    this.#cache.clear();
  }

  #store(key: string, claims: TokenClaims): void {
    const now = this.#cache.now();
    let until: number;
    if (claims.active) {
      until = now + this.#ttl;
      if (claims.exp !== undefined) until = Math.min(until, claims.exp * 1000);
    } else {
      until = now + this.#negativeTtl;
    }
    this.#cache.set(key, claims, until, claimsSize(claims));
  }
}

/** Accounted bytes of a claims object: its strings, roughly, plus per-field overhead. */
export function claimsSize(c: TokenClaims): number {
  let n = 64;
  const str = (s: string | undefined) => {
    if (s !== undefined) n += 16 + s.length;
  };
  str(c.sub);
  str(c.clientId);
  str(c.appId);
  str(c.masId);
  str(c.userInputId);
  for (const s of c.scope ?? []) str(s);
  for (const t of c.tools ?? []) str(t);
  if (c.act) n += JSON.stringify(c.act).length + 32;
  return n;
}
