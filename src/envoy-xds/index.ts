// xDS for the node's Envoy (ARCHITECTURE.md §5). See README.md in this folder.
export * from './codec.js';
export * from './delta-stream.js';
export * from './discovery.js';
export * from './protos.js';
export * from './server.js';
export * from './snapshot-store.js';
export * from './sotw-stream.js';
export * from './xds-stats.js';
export type { StreamLimits, StreamOptions } from './xds-stream.js';
