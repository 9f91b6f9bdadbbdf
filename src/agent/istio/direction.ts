// Which side of a request an Istio sidecar's Check speaks for. A sidecar
// checks one side per Check: SIDECAR_OUTBOUND (the app is the caller: trace
// token → exchange → inject) or SIDECAR_INBOUND (the app is the callee:
// verify the token that arrived). CASA's EnvoyFilter sends the two to
// different ports (4100 inbound, 5100 outbound), so the port is the answer;
// a port that serves both (or Istio's CUSTOM extension provider pointed at a
// shared port) reads it from the Check itself.
import type { CheckInput } from '../authz/check-request.js';
import { PEER_METADATA_HEADER } from './peer-metadata.js';

export type IstioDirection = 'inbound' | 'outbound';

/** What a listening port says about its Checks: a fixed side, or "look at the Check". */
export type PortRole = IstioDirection | 'detect';

/**
 * A per-route/per-filter `context_extensions` key an operator may set in the
 * Envoy config (ExtAuthzPerRoute.check_settings) to name the side outright.
 * Set by Envoy's configuration, never by the client, so it is trusted.
 */
export const DIRECTION_EXTENSION = 'casa.io/direction';

export interface DetectedDirection {
  readonly direction: IstioDirection;
  readonly why: string;
}

/**
 * The side of a Check that arrived on a shared port:
 * 1. `context_extensions[casa.io/direction]`, when the Envoy config sets it;
 * 2. an mTLS peer principal → inbound: only the server-side sidecar terminates
 *    Istio mTLS (the app's own connection to its outbound sidecar is plaintext);
 * 3. `x-envoy-peer-metadata` → outbound: the client sidecar adds it to what it
 *    forwards, the server sidecar removes it before its filters run;
 * 4. otherwise inbound — the side that only verifies tokens and never mints
 *    one, so an ambiguous Check can at worst be refused, never over-granted.
 */
export function detectDirection(input: CheckInput): DetectedDirection {
  const ext = input.contextExtensions[DIRECTION_EXTENSION];
  if (ext === 'inbound' || ext === 'outbound') {
    return { direction: ext, why: `context extension ${DIRECTION_EXTENSION}=${ext}` };
  }
  if (input.sourcePrincipal) return { direction: 'inbound', why: 'mTLS peer principal present' };
  if (input.headers.has(PEER_METADATA_HEADER)) {
    return { direction: 'outbound', why: `${PEER_METADATA_HEADER} present` };
  }
  return { direction: 'inbound', why: 'no outbound evidence' };
}
