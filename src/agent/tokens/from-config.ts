// Builds the runtime client and the token caches from AgentConfig, so the
// `run` and `dev` commands wire them the same way.
import type { AgentConfig } from '../config/load.js';
import { CasaRuntimeClient } from './casa-client.js';
import { ExchangeCache } from './exchange-cache.js';
import { IntrospectionCache } from './introspection-cache.js';
import { RfcRuntimeClient } from './rfc-client.js';
import type { RuntimeClient } from './runtime-client.js';
import type { RuntimeTransportOptions } from './runtime-transport.js';
import { TraceTokenStore } from './trace-token-store.js';

export type RuntimeConfig = Pick<
  AgentConfig,
  | 'runtimeUrl'
  | 'runtimeProfile'
  | 'runtimeTimeout'
  | 'runtimeConcurrency'
  | 'runtimeQueue'
  | 'runtimeTokenPath'
  | 'runtimeExchangePath'
  | 'runtimeIntrospectPath'
  | 'runtimeSharedCache'
  | 'rfcIntrospectionEndpoint'
  | 'rfcTokenEndpoint'
  | 'rfcClientId'
  | 'rfcClientSecret'
>;

export interface RuntimeWiring {
  /** Outcome of every runtime call, for metrics (casa_runtime_calls_total). */
  readonly observe?: RuntimeTransportOptions['observe'];
  readonly tls?: RuntimeTransportOptions['tls'];
  readonly now?: () => number;
}

export type ObservableRuntimeClient = RuntimeClient & {
  readonly stats: { inFlight: number; waiting: number; overloaded: number; origins: number };
};

export function runtimeClientFromConfig(
  cfg: RuntimeConfig,
  wiring: RuntimeWiring = {},
): ObservableRuntimeClient {
  const transport: RuntimeTransportOptions = {
    timeoutMs: cfg.runtimeTimeout,
    concurrency: cfg.runtimeConcurrency,
    queue: cfg.runtimeQueue,
    observe: wiring.observe,
    tls: wiring.tls,
  };
  if (cfg.runtimeProfile === 'rfc') {
    return new RfcRuntimeClient({
      ...transport,
      issuer: cfg.runtimeUrl,
      introspectionEndpoint: cfg.rfcIntrospectionEndpoint,
      tokenEndpoint: cfg.rfcTokenEndpoint,
      clientId: cfg.rfcClientId ?? '',
      clientSecret: cfg.rfcClientSecret ?? '',
      now: wiring.now,
    });
  }
  if (!cfg.runtimeUrl) throw new RangeError('runtimeUrl: required for the casa runtime profile');
  return new CasaRuntimeClient({
    ...transport,
    runtimeUrl: cfg.runtimeUrl,
    tokenPath: cfg.runtimeTokenPath,
    exchangePath: cfg.runtimeExchangePath,
    introspectPath: cfg.runtimeIntrospectPath,
    sharedCache: cfg.runtimeSharedCache,
    now: wiring.now,
  });
}

export type CacheConfig = Pick<
  AgentConfig,
  'introspectionTtl' | 'negativeTtl' | 'exchangeSkew' | 'cacheMaxEntries' | 'cacheMaxBytes' | 'traceTtl'
>;

export interface TokenCaches {
  readonly introspection: IntrospectionCache;
  readonly exchange: ExchangeCache;
  readonly traces: TraceTokenStore;
}

/** The three caches, each bounded by `cacheMaxEntries` and `cacheMaxBytes`. */
export function tokenCachesFromConfig(
  cfg: CacheConfig,
  runtime: RuntimeClient,
  now: () => number = Date.now,
): TokenCaches {
  const bounds = { maxEntries: cfg.cacheMaxEntries, maxBytes: cfg.cacheMaxBytes, now };
  return {
    introspection: new IntrospectionCache({
      ...bounds,
      runtime,
      ttlMs: cfg.introspectionTtl,
      negativeTtlMs: cfg.negativeTtl,
    }),
    exchange: new ExchangeCache({ ...bounds, runtime, skewMs: cfg.exchangeSkew }),
    traces: new TraceTokenStore({ ...bounds, shared: runtime.sharedTraceCache, traceTtlMs: cfg.traceTtl }),
  };
}
