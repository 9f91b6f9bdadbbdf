// Who the two sides of an Istio sidecar's Check are. Unlike Cilium mode (one
// Check for both sides, ARCHITECTURE.md §4), a sidecar checks one side:
//
//   - outbound (SIDECAR_OUTBOUND, the app calls out): the caller is the app
//     the sidecar belongs to — named by `WORKLOAD_NAME` in
//     `x-envoy-peer-metadata` (what CASA matches against
//     `kubernetesWorkloadName`), and by the source address (the app's pod IP);
//     the callee, the exchange target, is the destination address (a Service
//     VIP or pod IP) or else the app whose `baseUrl.host` is the Host.
//   - inbound (SIDECAR_INBOUND, the app is called): the callee is the
//     destination address (the pod's own IP) or else the Host; the caller is
//     only reported (by IP), the decision never depends on it.
//
// Identity evidence that disagrees is refused, never reconciled by a guess.
import type { AppIdentity, Deny, Endpoint, Workload } from '../../policy/types.js';
import { deny } from '../../policy/types.js';
import type { CheckInput } from '../authz/check-request.js';
import type { Endpoints } from '../authz/endpoints.js';
import type { WorkloadDirectory } from '../inventory/directory.js';
import { detectDirection, type IstioDirection, type PortRole } from './direction.js';
import { PEER_METADATA_HEADER, type PeerMetadata, type PeerMetadataCodec } from './peer-metadata.js';

export type IstioResolution =
  | {
      readonly kind: 'endpoints';
      readonly direction: IstioDirection;
      /** Why this direction: the port, or the evidence in the Check. */
      readonly why: string;
      readonly endpoints: Endpoints;
      /** How the caller was identified (outbound), for logs. */
      readonly callerBy?: 'peer_metadata' | 'source_ip' | 'both';
    }
  | { readonly kind: 'deny'; readonly direction: IstioDirection; readonly deny: Deny };

export function resolveIstio(
  input: CheckInput,
  directory: WorkloadDirectory,
  role: PortRole,
  codec: PeerMetadataCodec,
): IstioResolution {
  const detected = role === 'detect' ? detectDirection(input) : undefined;
  const direction = detected?.direction ?? (role as IstioDirection);
  const why = detected ? `detected: ${detected.why}` : `port role ${role}`;
  const destination = directory.resolveDestination(input.destination?.ip, input.host || undefined);
  if (direction === 'inbound') {
    // The caller is informational only: `only: 'inbound'` keeps it out of the plan.
    const caller = input.source ? directory.podByIp(input.source.ip) : undefined;
    return {
      kind: 'endpoints',
      direction,
      why,
      endpoints: { source: caller, destination, only: 'inbound' },
    };
  }
  const caller = resolveCaller(input, directory, codec);
  if (caller.kind === 'deny') return { kind: 'deny', direction, deny: caller.deny };
  return {
    kind: 'endpoints',
    direction,
    why,
    endpoints: { source: caller.source, destination, only: 'outbound' },
    ...(caller.by ? { callerBy: caller.by } : {}),
  };
}

type Caller =
  | {
      readonly kind: 'caller';
      readonly source?: Endpoint;
      readonly by?: 'peer_metadata' | 'source_ip' | 'both';
    }
  | { readonly kind: 'deny'; readonly deny: Deny };

/**
 * The calling app of an outbound Check: peer metadata first (as CASA), the
 * source IP second. When both name a managed app they must name the same one:
 * a pod labelled for one app whose Deployment carries another app's
 * kubernetesWorkloadName is a conflict an operator has to resolve.
 */
function resolveCaller(input: CheckInput, directory: WorkloadDirectory, codec: PeerMetadataCodec): Caller {
  const byIp = input.source ? directory.podByIp(input.source.ip) : undefined;
  const header = input.headers.get(PEER_METADATA_HEADER);
  if (header === undefined)
    return byIp ? { kind: 'caller', source: byIp, by: 'source_ip' } : { kind: 'caller' };

  const decoded = codec.decode(header);
  if (!decoded.ok) {
    // The sidecar writes this header itself; a value it cannot have written
    // means the caller cannot be trusted to be who it claims. Fail closed.
    return {
      kind: 'deny',
      deny: deny('unknown_workload', `${PEER_METADATA_HEADER} cannot be read: ${decoded.reason}`),
    };
  }
  const meta = decoded.metadata;
  const namespace = meta.namespace ?? byIp?.namespace;
  const named =
    meta.workloadName !== undefined && namespace !== undefined
      ? directory.appByWorkloadName(namespace, meta.workloadName)
      : undefined;
  if (named === undefined)
    return byIp ? { kind: 'caller', source: byIp, by: 'source_ip' } : { kind: 'caller' };
  if (byIp === undefined) {
    return {
      kind: 'caller',
      source: sidecarWorkload(named, meta, namespace as string, input),
      by: 'peer_metadata',
    };
  }
  if (!sameApp(named, byIp)) {
    return {
      kind: 'deny',
      deny: deny(
        'unknown_workload',
        `caller identity conflict: ${PEER_METADATA_HEADER} names workload ${namespace}/${meta.workloadName} ` +
          `(app ${appName(named)}) but source ${input.source?.ip} is pod ${byIp.namespace}/${byIp.podName} (app ${appName(byIp)})`,
      ),
    };
  }
  // The registry's Workload carries the pod and the effective type (label override).
  return { kind: 'caller', source: byIp, by: 'both' };
}

function sameApp(a: AppIdentity, b: AppIdentity): boolean {
  return a.mas.namespace === b.mas.namespace && a.mas.name === b.mas.name && a.app.name === b.app.name;
}

function appName(a: AppIdentity): string {
  return `${a.mas.namespace}/${a.mas.name}/${a.app.name}`;
}

/**
 * The caller as the sidecar describes it, for a pod the inventory does not
 * (yet) hold: the app's identity, the pod name and namespace from the
 * metadata, and the source address.
 */
function sidecarWorkload(
  app: AppIdentity,
  meta: PeerMetadata,
  namespace: string,
  input: CheckInput,
): Workload {
  return {
    ...app,
    kind: 'pod',
    namespace,
    podName: meta.name ?? `${meta.workloadName ?? app.app.name} (peer metadata)`,
    podUid: '',
    ips: input.source ? [input.source.ip] : [],
  };
}
