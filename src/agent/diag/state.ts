// The shape of /debug/state. Produced by the running agent, read by
// `casa-agent diag`. Identities, versions and counters only — never a token.
import type { ApplyState } from '../apply/index.js';

export interface AgentState {
  readonly node?: string;
  readonly version: string;
  readonly startedAt: string;
  readonly dataplane: { readonly mode: 'cilium' | 'istio'; readonly why: string };
  readonly listen: Readonly<Record<string, string>>;
  readonly inventory: {
    readonly source: 'kubernetes' | 'file';
    readonly synced: boolean;
    readonly objects: Readonly<Record<string, number>>;
    readonly localWorkloads: readonly WorkloadSummary[];
    readonly clusterWorkloads: number;
    readonly multiAgentSystems: readonly {
      readonly namespace: string;
      readonly name: string;
      readonly apps: number;
    }[];
    readonly warnings: readonly string[];
  };
  readonly runtime: {
    readonly url?: string;
    readonly profile: 'casa' | 'rfc';
    readonly reachable: boolean;
    readonly lastOkAt?: string;
    readonly lastError?: string;
  };
  readonly caches: Readonly<Record<string, CacheSummary>>;
  readonly xds: { readonly clients: readonly XdsClientSummary[] };
  readonly authz: { readonly checksInFlight: number };
  /** In-cluster apply of the Cilium objects (only when applyClusterObjects is set). */
  readonly apply?: ApplyState | { readonly enabled: false; readonly why: string };
}

export interface WorkloadSummary {
  readonly namespace: string;
  readonly pod: string;
  readonly ips: readonly string[];
  readonly mas: string;
  readonly app: string;
  readonly type: string;
  readonly credentials: boolean;
}

export interface CacheSummary {
  readonly entries: number;
  readonly bytes?: number;
  readonly hits?: number;
  readonly misses?: number;
}

export interface XdsClientSummary {
  readonly node: string;
  readonly stream: string;
  readonly kind: 'sotw' | 'delta';
  readonly types: Readonly<
    Record<
      string,
      { readonly sent?: string; readonly acked?: string; readonly nacked?: string; readonly error?: string }
    >
  >;
}
