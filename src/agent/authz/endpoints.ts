// Who the two sides of a Check are. In Cilium mode Envoy runs on the caller's
// node and ext_authz sees the pod source address and the original destination
// (ARCHITECTURE.md §4): the source is a pod on this node by IP; the
// destination is a pod or Service VIP anywhere, else the app named by Host.
import type { Endpoint } from '../../policy/types.js';
import type { WorkloadDirectory } from '../inventory/directory.js';
import type { CheckInput } from './check-request.js';

export interface Endpoints {
  readonly source?: Endpoint;
  readonly destination?: Endpoint;
  /** Restrict the Check to one side (Istio sidecars check one side per port). */
  readonly only?: 'inbound' | 'outbound';
}

export function resolveCilium(input: CheckInput, directory: WorkloadDirectory): Endpoints {
  const source = input.source ? directory.podByIp(input.source.ip) : undefined;
  const destination = directory.resolveDestination(input.destination?.ip, input.host || undefined);
  return { source, destination };
}
