// The CASA world of the ext_authz suites (reference runtime, file inventory,
// real NodeAgent) with the Istio data plane: the agent serves the sidecar
// ports, and each side of a request is checked by the sidecar that sees it —
// the caller's SIDECAR_OUTBOUND Check on one port, the callee's
// SIDECAR_INBOUND Check on the other.
import { AuthzClient, type CheckResult } from '../../support/authz-client.js';
import { HOST, IP, NS, startWorld, type World, type WorldOptions } from '../../support/casa-world.js';
import {
  inboundCheck,
  outboundCheck,
  type SidecarPod,
  type SidecarRequest,
  spiffe,
} from '../../unit/istio/sidecar-check.js';

export type App = 'web' | 'planner' | 'helper' | 'files';

/** The world's pods as their sidecars describe them (workload = app name, as its MAS says). */
export const POD: Readonly<Record<App, SidecarPod>> = {
  web: { ip: IP.web, namespace: NS, workload: 'web', pod: 'web-0' },
  planner: { ip: IP.planner, namespace: NS, workload: 'planner', pod: 'planner-0' },
  helper: { ip: IP.helper, namespace: NS, workload: 'helper', pod: 'helper-0' },
  files: { ip: IP.files, namespace: NS, workload: 'files', pod: 'files-0' },
};

/** A Service VIP the inventory does not know: the callee then comes from the Host, as in CASA. */
export const UNKNOWN_VIP = '10.96.200.1';

export interface IstioWorld extends World {
  readonly inbound: AuthzClient;
  readonly outbound: AuthzClient;
  /** The caller's sidecar checks its app's request to `host` (Service VIP unknown: Host decides). */
  out(
    from: App | SidecarPod,
    req: SidecarRequest,
    opts?: { to?: string; peerMetadata?: string | null },
  ): Promise<CheckResult>;
  /** The callee's sidecar checks a request from `from` (an app over mTLS, or an unmanaged address). */
  in(from: App | string, to: App, req: SidecarRequest): Promise<CheckResult>;
}

export async function startIstioWorld(opts: WorldOptions = {}): Promise<IstioWorld> {
  const w = await startWorld({
    ...opts,
    flags: {
      dataplane: 'istio',
      istioInboundListen: '127.0.0.1:0',
      istioOutboundListen: '127.0.0.1:0',
      ...opts.flags,
    },
  });
  const listen = w.agent.state().listen;
  const inbound = new AuthzClient(listen.istioInbound as string);
  const outbound = new AuthzClient(listen.istioOutbound as string);
  const pod = (p: App | SidecarPod) => (typeof p === 'string' ? POD[p] : p);
  return {
    ...w,
    inbound,
    outbound,
    out: (from, req, o = {}) =>
      outbound.checkRaw(
        o.peerMetadata === undefined
          ? outboundCheck(pod(from), { ip: o.to ?? UNKNOWN_VIP }, req)
          : outboundCheck(pod(from), { ip: o.to ?? UNKNOWN_VIP }, req, o.peerMetadata),
      ),
    in: (from, to, req) =>
      inbound.checkRaw(
        typeof from === 'string' && from in POD
          ? inboundCheck({ ip: POD[from as App].ip, principal: spiffe(POD[from as App]) }, POD[to], req)
          : inboundCheck({ ip: from as string }, POD[to], req),
      ),
    async stop() {
      inbound.close();
      outbound.close();
      await w.stop();
    },
  };
}

export { HOST };
