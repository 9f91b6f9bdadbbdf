// The read side of the workload registry, as the ext_authz service and the
// xDS snapshot builder see it. Implemented by WorkloadRegistry (registry.ts).
import type {
  AppCredentials,
  AppIdentity,
  Endpoint,
  MultiAgentSystem,
  Workload,
} from '../../policy/types.js';

export interface WorkloadDirectory {
  /** A managed pod by one of its IPs (sources are pods on this node; destinations anywhere). */
  podByIp(ip: string): Workload | undefined;
  /**
   * The destination of a request: a managed pod IP, a Service VIP of a MAS app,
   * or — when the address is unknown — the app whose `baseUrl.host` equals the
   * request's Host (port stripped, case-insensitive).
   */
  resolveDestination(ip: string | undefined, host: string | undefined): Endpoint | undefined;
  /** The app whose `baseUrl.host` is `host` (Istio mode: the callee from Host). */
  appByHost(host: string): AppIdentity | undefined;
  /** The app a workload name maps to in a namespace (Istio mode: peer metadata WORKLOAD_NAME). */
  appByWorkloadName(namespace: string, workloadName: string): AppIdentity | undefined;
  /** OAuth2 client credentials of an app, from its `<app-id>-oauth2-credentials` Secret. */
  credentials(identity: AppIdentity): AppCredentials | undefined;
  /** Every MAS known, for rendering and diagnostics. */
  multiAgentSystems(): readonly MultiAgentSystem[];
  /** Pods on this node that are managed, for the xDS snapshot. */
  localWorkloads(): readonly Workload[];
  /** Monotonic version, bumped on every change that can alter a decision. */
  readonly version: number;
  /** Subscribe to (coalesced) changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}
