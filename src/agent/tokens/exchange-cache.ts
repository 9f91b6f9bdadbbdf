// Exchanged tokens, cached per (trace, source app, destination app, tools)
// until `exchangeSkew` before their `exp` (ARCHITECTURE.md §3), so the token
// we inject still has that long to live when the destination checks it.
// The subject token is part of the key too: a trace whose subject token
// changed never gets a token that was exchanged from the old one.
// Concurrent identical exchanges share one runtime call. Errors (including a
// runtime refusal such as `tool_intent_mismatch`) are never cached.
import { cacheKey } from './cache-key.js';
import type { CacheSource } from './introspection-cache.js';
import type { CallOptions, ExchangeRequest, IssuedToken, RuntimeClient } from './runtime-client.js';
import { raceSignal, SingleFlight } from './single-flight.js';
import { type CacheStats, TokenCache, type TokenCacheOptions } from './token-cache.js';

export const DEFAULT_EXCHANGE_SKEW_MS = 15_000;

export interface ExchangeCacheOptions extends TokenCacheOptions {
  readonly runtime: Pick<RuntimeClient, 'exchange'>;
  /** Config `exchangeSkew`. */
  readonly skewMs?: number;
  /**
   * Lifetime of a token whose expiry is unknown (no `expires_in`, not a JWT).
   * Default 0: such tokens are not cached.
   */
  readonly ttlWithoutExpMs?: number;
}

/** Who exchanges for whom, in which trace. Tools and subject token come from the request. */
export interface ExchangeKey {
  readonly traceId: string;
  readonly sourceAppId: string;
  readonly destinationAppId: string;
}

export interface Exchanged {
  readonly token: IssuedToken;
  readonly source: CacheSource;
}

export interface ExchangeCacheStats extends CacheStats {
  readonly joined: number;
  readonly inFlight: number;
}

export class ExchangeCache {
  readonly #cache: TokenCache<IssuedToken>;
  readonly #flights = new SingleFlight<IssuedToken>();
  readonly #runtime: Pick<RuntimeClient, 'exchange'>;
  readonly #skew: number;
  readonly #ttlWithoutExp: number;
  #joined = 0;

  constructor(opts: ExchangeCacheOptions) {
    this.#cache = new TokenCache(opts);
    this.#runtime = opts.runtime;
    this.#skew = opts.skewMs ?? DEFAULT_EXCHANGE_SKEW_MS;
    this.#ttlWithoutExp = opts.ttlWithoutExpMs ?? 0;
  }

  /** A token for `req`, from the cache or one runtime exchange. Throws the exchange's RuntimeError. */
  async exchange(key: ExchangeKey, req: ExchangeRequest, opts?: CallOptions): Promise<Exchanged> {
    const tools = req.tools && req.tools.length > 0 ? [...req.tools].sort() : [];
    const k = cacheKey(
      key.traceId,
      key.sourceAppId,
      key.destinationAppId,
      req.subjectToken,
      req.mcpServerUrl,
      tools.join('\n'),
    );
    const cached = this.#cache.get(k);
    if (cached) return { token: cached, source: 'hit' };
    const flight = this.#flights.run(k, async () => {
      // Shared by every waiter: runs under the runtime deadline, not one caller's signal.
      const token = await this.#runtime.exchange(req);
      this.#store(k, token);
      return token;
    });
    if (flight.joined) this.#joined++;
    const token = await raceSignal(flight.promise, opts?.signal, 'exchange');
    return { token, source: flight.joined ? 'joined' : 'miss' };
  }

  get stats(): ExchangeCacheStats {
    return { ...this.#cache.stats, joined: this.#joined, inFlight: this.#flights.size };
  }

  keys(): string[] {
    return this.#cache.keys();
  }

  prune(): number {
    return this.#cache.prune();
  }

  clear(): void {
    this.#cache.clear();
  }

  #store(key: string, token: IssuedToken): void {
    const now = this.#cache.now();
    const until =
      token.expiresAt !== undefined
        ? token.expiresAt * 1000 - this.#skew
        : this.#ttlWithoutExp > 0
          ? now + this.#ttlWithoutExp
          : now;
    // A token that expires within the skew is returned to this caller but not kept.
    this.#cache.set(key, token, until, token.accessToken.length + 48);
  }
}
