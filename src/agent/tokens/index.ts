// Token services: runtime clients (casa and rfc profiles) and the caches
// around them. See README.md in this folder.

export { cacheKey } from './cache-key.js';
export { CallGate, type CallGateOptions, type CallGateStats } from './call-gate.js';
export { CASA_DEFAULT_PATHS, type CasaClientOptions, CasaRuntimeClient } from './casa-client.js';
export { MAX_TOKEN_LENGTH, parseClaims, parseIssuedToken } from './claims.js';
export {
  DEFAULT_EXCHANGE_SKEW_MS,
  ExchangeCache,
  type ExchangeCacheOptions,
  type ExchangeCacheStats,
  type Exchanged,
  type ExchangeKey,
} from './exchange-cache.js';
export {
  type CacheConfig,
  type ObservableRuntimeClient,
  type RuntimeConfig,
  type RuntimeWiring,
  runtimeClientFromConfig,
  type TokenCaches,
  tokenCachesFromConfig,
} from './from-config.js';
export {
  type CacheSource,
  DEFAULT_INTROSPECTION_TTL_MS,
  DEFAULT_NEGATIVE_TTL_MS,
  type Introspected,
  IntrospectionCache,
  type IntrospectionCacheOptions,
  type IntrospectionCacheStats,
} from './introspection-cache.js';
export { jwtExpiry } from './jwt-expiry.js';
export { type RfcClientOptions, RfcRuntimeClient, TOKEN_EXCHANGE_GRANT } from './rfc-client.js';
export { discover, metadataUrls, type ServerMetadata } from './rfc-discovery.js';
export {
  type CallOptions,
  type ExchangeRequest,
  type IssuedToken,
  type RuntimeClient,
  RuntimeError,
  type RuntimeErrorKind,
  type TraceTokenKey,
  type UserTokenRequest,
} from './runtime-client.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  RuntimeTransport,
  type RuntimeTransportOptions,
} from './runtime-transport.js';
export { type CacheStats, TokenCache, type TokenCacheOptions } from './token-cache.js';
export {
  DEFAULT_TRACE_TTL_MS,
  type FoundToken,
  type RememberOptions,
  type RememberOutcome,
  TraceTokenStore,
  type TraceTokenStoreOptions,
  type TraceTokenStoreStats,
} from './trace-token-store.js';
