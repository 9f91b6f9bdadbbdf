// The ext_authz ports Istio sidecars call: SIDECAR_INBOUND Checks on one
// (4100 by default), SIDECAR_OUTBOUND Checks on the other (5100), as CASA's
// EnvoyFilter wires them. Configured to the same address, one port serves
// both and tells the side from each Check (direction.ts). Each port is a
// plain AuthzServer (transport, deadline handling, health, drain) around the
// port's Authorizer from the IstioAdapter.
import type { Authorizer, CheckObserver } from '../authz/authorizer-port.js';
import { AuthzServer } from '../authz/authz-server.js';
import type { HostPort } from '../config/load.js';
import type { IstioAdapter } from './adapter.js';
import type { PortRole } from './direction.js';

export interface IstioPortsOptions {
  readonly adapter: IstioAdapter;
  /** The authorization flow every port shares. */
  readonly authorizer: Authorizer;
  readonly inbound: HostPort;
  readonly outbound: HostPort;
  readonly defaultTimeoutMs: number;
  readonly onOutcome?: CheckObserver;
}

export interface IstioListening {
  readonly inbound: HostPort;
  readonly outbound: HostPort;
}

/** One address for both sides (port 0 always means two fresh ports). */
export function sharesPort(a: HostPort, b: HostPort): boolean {
  return a.port !== 0 && a.port === b.port && a.host === b.host;
}

export class IstioAuthzPorts {
  private readonly servers: { role: PortRole; at: HostPort; server: AuthzServer }[];

  constructor(o: IstioPortsOptions) {
    const server = (role: PortRole) =>
      new AuthzServer({
        authorizer: o.adapter.authorizerFor(o.authorizer, role),
        defaultTimeoutMs: o.defaultTimeoutMs,
        ...(o.onOutcome ? { onOutcome: o.onOutcome } : {}),
      });
    this.servers = sharesPort(o.inbound, o.outbound)
      ? [{ role: 'detect', at: o.inbound, server: server('detect') }]
      : [
          { role: 'inbound', at: o.inbound, server: server('inbound') },
          { role: 'outbound', at: o.outbound, server: server('outbound') },
        ];
  }

  /** Roles served, in listen order (`detect` when one port serves both sides). */
  get roles(): readonly PortRole[] {
    return this.servers.map((s) => s.role);
  }

  get checksInFlight(): number {
    return this.servers.reduce((n, s) => n + s.server.checksInFlight, 0);
  }

  async listen(): Promise<IstioListening> {
    const bound: HostPort[] = [];
    try {
      for (const s of this.servers) bound.push(await s.server.listen(s.at));
    } catch (err) {
      await this.shutdown(0);
      throw err;
    }
    const [inbound, outbound] = bound as [HostPort, HostPort | undefined];
    return { inbound, outbound: outbound ?? inbound };
  }

  setServing(serving: boolean): void {
    for (const s of this.servers) s.server.setServing(serving);
  }

  /** Drains every port at once (in-flight Checks finish for up to `drainMs`). */
  async shutdown(drainMs: number): Promise<void> {
    await Promise.all(this.servers.map((s) => s.server.shutdown(drainMs)));
  }
}
