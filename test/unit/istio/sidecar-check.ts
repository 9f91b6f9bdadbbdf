// CheckRequests shaped like an Istio sidecar's (Envoy's ext_authz filter in a
// sidecar, as CASA's EnvoyFilter inserts it):
//   - SIDECAR_OUTBOUND: the app's own plaintext connection to its sidecar —
//     source = the app's pod IP, destination = the original destination (a
//     Service VIP or a pod IP), no peer principal, and the sidecar's own node
//     metadata in `x-envoy-peer-metadata` / `x-envoy-peer-metadata-id`
//     (added by the peer-metadata filter, which runs before ext_authz);
//   - SIDECAR_INBOUND: the peer sidecar's mTLS connection — source = the
//     caller's pod IP with its SPIFFE principal, destination = this pod's IP
//     and its own principal; the metadata headers were consumed and removed.

import { PeerMetadataCodec } from '../../../src/agent/istio/peer-metadata.js';
import { checkRequestMessage } from '../../support/authz-client.js';

export const TRUST_DOMAIN = 'cluster.local';
const codec = new PeerMetadataCodec();

export interface SidecarPod {
  readonly ip: string;
  readonly namespace: string;
  /** Controlling workload (Deployment) name: Istio's WORKLOAD_NAME. */
  readonly workload: string;
  readonly pod?: string;
  readonly serviceAccount?: string;
}

export interface SidecarRequest {
  readonly method?: string;
  readonly path: string;
  readonly host: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export function spiffe(p: SidecarPod): string {
  return `spiffe://${TRUST_DOMAIN}/ns/${p.namespace}/sa/${p.serviceAccount ?? p.workload}`;
}

/** The peer-metadata header a pod's sidecar sends (overrides: what a broken or forged one would carry). */
export function peerMetadataOf(p: SidecarPod): string {
  return codec.encode({
    name: p.pod ?? `${p.workload}-0`,
    namespace: p.namespace,
    workloadName: p.workload,
    owner: `kubernetes://apis/apps/v1/namespaces/${p.namespace}/deployments/${p.workload}`,
    clusterId: 'Kubernetes',
    labels: { app: p.workload, 'service.istio.io/canonical-name': p.workload },
  });
}

interface Peer {
  address?: { socket_address: { address: string; port_value: number } };
  principal?: string;
}
interface Message {
  attributes: { source?: Peer; destination?: Peer; request: { http: { headers: Record<string, string> } } };
}

/** The Check an app's sidecar sends before forwarding the app's request out. */
export function outboundCheck(
  from: SidecarPod,
  to: { ip: string; port?: number },
  req: SidecarRequest,
  peerMetadata: string | null = peerMetadataOf(from),
): unknown {
  const msg = checkRequestMessage({
    ...req,
    source: { ip: from.ip, port: 41000 },
    destination: { ip: to.ip, port: to.port ?? 8000 },
  }) as Message;
  const h = msg.attributes.request.http.headers;
  if (peerMetadata !== null) {
    h['x-envoy-peer-metadata'] = peerMetadata;
    h['x-envoy-peer-metadata-id'] =
      `sidecar~${from.ip}~${from.pod ?? `${from.workload}-0`}.${from.namespace}~${from.namespace}.svc.cluster.local`;
  }
  return msg;
}

/** The Check the callee's sidecar sends before handing a request to its app. */
export function inboundCheck(
  from: { ip: string; principal?: string },
  to: SidecarPod,
  req: SidecarRequest,
  mtls = true,
): unknown {
  const msg = checkRequestMessage({
    ...req,
    source: { ip: from.ip, port: 41000 },
    destination: { ip: to.ip, port: 8000 },
  }) as Message;
  if (mtls) {
    if (msg.attributes.source && from.principal) msg.attributes.source.principal = from.principal;
    if (msg.attributes.destination) msg.attributes.destination.principal = spiffe(to);
  }
  return msg;
}
