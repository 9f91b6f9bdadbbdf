// The reference CASA runtime (casa API profile, signed JWTs) for tests and `casa-agent dev`.
export {
  AppRegistry,
  type CredentialsSecret,
  type RegisterMasOptions,
  type RuntimeApp,
} from './app-registry.js';
export {
  ACCESS_TOKEN_TYPE,
  type ExchangeContext,
  type ExchangePolicy,
  type ExchangeVerdict,
} from './casa-endpoints.js';
export type { FaultHandle, FaultScope, RuntimeEndpoint, RuntimeFault } from './faults.js';
export { ReferenceRuntime, type ReferenceRuntimeOptions } from './reference-runtime.js';
export { type SigningAlg, TokenSigner } from './token-signer.js';
