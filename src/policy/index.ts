// The pure authorization core (ARCHITECTURE.md §3). See README.md in this folder.
export * from './bearer.js';
export * from './classify.js';
export * from './config.js';
export * from './decision.js';
export * from './gate.js';
export * from './jsonpath.js';
export * from './jsonrpc.js';
export * from './path.js';
export * from './patterns.js';
export * from './prompt.js';
export * from './request.js';
export * from './scope.js';
export * from './traceparent.js';
export * from './types.js';
