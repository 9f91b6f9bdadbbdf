// In-cluster apply as the node agent uses it: every agent competes for one
// Lease; the holder renders the cluster-wide Cilium objects from its registry
// (the same renderer as `casa-agent render --dataplane cilium` and the chart)
// and keeps them applied. Off by default (config applyClusterObjects); see
// README.md for how this and the Helm chart share the objects.
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { type AgentConfig, ConfigError } from '../config/load.js';
import { loadKubeConfig } from '../inventory/index.js';
import type { WorkloadRegistry } from '../inventory/registry.js';
import type { Logger } from '../log.js';
import { renderCilium } from '../render/cilium.js';
import type { KubernetesObject } from '../render/kubernetes-object.js';
import { type ApplierState, ClusterApplier, type ClusterApplierOptions } from './applier.js';
import { KubeObjectWriter, type ObjectWriter } from './kube-writer.js';
import {
  type ElectionState,
  type ElectionTiming,
  LeaderElection,
  validateTiming,
} from './leader-election.js';
import { KubeLeaseStore, type LeaseStore } from './lease-store.js';
import { type ApplyMetrics, createApplyMetrics } from './metrics.js';
import { CILIUM_RESOURCES, FIELD_MANAGER, type ResourceType } from './resources.js';

export { type ApplierState, ClusterApplier, type ClusterApplierOptions } from './applier.js';
export { KubeObjectWriter, type ObjectWriter } from './kube-writer.js';
export {
  DEFAULT_TIMING,
  type ElectionState,
  type ElectionTiming,
  LeaderElection,
} from './leader-election.js';
export { KubeLeaseStore, LeaseConflict, type LeaseStore } from './lease-store.js';
export {
  CILIUM_RESOURCES,
  FIELD_MANAGER,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  withOwnership,
} from './resources.js';

/** Lease of the writer, in the agent's namespace. */
export const APPLY_LEASE = 'casa-node-agent-cluster-objects';

/** The `apply` section of /debug/state. */
export interface ApplyState extends ApplierState {
  readonly enabled: true;
  readonly election: ElectionState;
}

/** Why applying is configured but not running (shown in /debug/state). */
export interface ApplyOff {
  readonly enabled: false;
  readonly why: string;
}

export type ApplyConfig = Pick<
  AgentConfig,
  | 'agentNamespace'
  | 'podName'
  | 'nodeName'
  | 'applyLeaseDuration'
  | 'applyRenewDeadline'
  | 'applyRetryPeriod'
  | 'applyResync'
  | 'authzListen'
  | 'xdsListen'
  | 'checkTimeout'
  | 'maxRequestBytes'
>;

export interface ClusterApplyOptions {
  readonly config: ApplyConfig;
  readonly registry: Pick<WorkloadRegistry, 'multiAgentSystems' | 'services' | 'onChange'>;
  /** The inventory has listed everything once. */
  readonly synced: () => boolean;
  readonly kubeConfig: KubeConfig;
  /** The agent's Prometheus registry (the apply metrics join it). */
  readonly metrics?: Registry;
  readonly log?: Logger;
  /** Replace pieces (tests): the objects to render, the Lease, the writer, applier tuning. */
  readonly render?: () => readonly KubernetesObject[];
  readonly leaseStore?: LeaseStore;
  readonly writer?: ObjectWriter;
  readonly resources?: readonly ResourceType[];
  readonly applier?: Partial<Pick<ClusterApplierOptions, 'coalesceMs' | 'backoff' | 'notReadyPollMs'>>;
}

/** This agent's Lease holder identity: its pod name (the chart sets it), else node, else host name. */
export function holderIdentity(config: Pick<ApplyConfig, 'podName' | 'nodeName'>): string {
  return config.podName ?? config.nodeName ?? hostname();
}

/** The election timing of the settings; a bad combination is a ConfigError naming the setting. */
export function electionTiming(config: ApplyConfig): ElectionTiming {
  const timing = {
    leaseDurationMs: config.applyLeaseDuration,
    renewDeadlineMs: config.applyRenewDeadline,
    retryPeriodMs: config.applyRetryPeriod,
  };
  try {
    validateTiming(timing);
  } catch (err) {
    const field = /retryPeriod/.test((err as Error).message) ? 'applyRetryPeriod' : 'applyRenewDeadline';
    throw new ConfigError(field, (err as Error).message);
  }
  return timing;
}

export class ClusterApply {
  readonly election: LeaderElection;
  readonly applier: ClusterApplier;
  private readonly metrics?: ApplyMetrics;
  private readonly registry: ClusterApplyOptions['registry'];
  private unsubscribe?: () => void;

  constructor(o: ClusterApplyOptions) {
    const log = o.log;
    this.metrics = o.metrics ? createApplyMetrics(o.metrics) : undefined;
    const m = this.metrics;
    const warned = new Set<string>();
    const render =
      o.render ??
      (() =>
        renderCilium({
          config: o.config,
          multiAgentSystems: o.registry.multiAgentSystems(),
          services: o.registry.services(),
          warn: (message) => {
            // The same warning comes back at every resync: log each once (bounded).
            if (warned.has(message) || warned.size >= 100) return;
            warned.add(message);
            log?.warn({ warning: message }, 'render warning');
          },
        }));
    this.election = new LeaderElection({
      store: o.leaseStore ?? new KubeLeaseStore(o.kubeConfig, o.config.agentNamespace, APPLY_LEASE),
      identity: holderIdentity(o.config),
      timing: electionTiming(o.config),
      onStartedLeading: () => {
        m?.leader.set(1);
        this.applier.leadershipChanged(true);
      },
      onStoppedLeading: () => {
        m?.leader.set(0);
        this.applier.leadershipChanged(false);
      },
      onError: (op) => m?.leaseError(op),
      ...(log ? { log } : {}),
    });
    this.applier = new ClusterApplier({
      writer: o.writer ?? new KubeObjectWriter(o.kubeConfig),
      leadership: this.election,
      render,
      resources: o.resources ?? CILIUM_RESOURCES,
      ready: o.synced,
      fieldManager: FIELD_MANAGER,
      resyncMs: o.config.applyResync,
      ...o.applier,
      ...(m ? { observer: m.observer } : {}),
      ...(log ? { log } : {}),
    });
    this.registry = o.registry;
  }

  start(): void {
    this.unsubscribe = this.registry.onChange(() => this.applier.changed());
    this.applier.start();
    this.election.start();
  }

  /** Stops writing first, then releases the Lease (unless `release: false`, which looks like a crash). */
  async stop(o: { release?: boolean } = {}): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.applier.stop();
    await this.election.stop(o);
    this.metrics?.leader.set(0);
  }

  state(): ApplyState {
    return { enabled: true, ...this.applier.state(), election: this.election.state() };
  }
}

export interface FromConfigOptions {
  readonly config: ApplyConfig & Pick<AgentConfig, 'applyClusterObjects' | 'inventory' | 'kubeconfig'>;
  /** The data plane the agent chose. */
  readonly dataplane: 'cilium' | 'istio';
  readonly registry: ClusterApplyOptions['registry'];
  readonly synced: () => boolean;
  readonly metrics?: Registry;
  readonly log?: Logger;
}

/**
 * What the agent runs for its settings: nothing (undefined) unless
 * applyClusterObjects; a ConfigError without a cluster to write to; an
 * ApplyOff with the Istio data plane (its objects are namespaced and the chart
 * installs them per namespace — see README.md); else a ClusterApply, not started.
 */
export function clusterApplyFromConfig(o: FromConfigOptions): ClusterApply | ApplyOff | undefined {
  const { config } = o;
  if (!config.applyClusterObjects) return undefined;
  if (config.inventory !== 'kubernetes') {
    throw new ConfigError('applyClusterObjects', 'needs --inventory kubernetes (a cluster to write to)');
  }
  if (o.dataplane !== 'cilium') {
    const why = `data plane ${o.dataplane}: only the Cilium objects are applied by the agent`;
    o.log?.warn({ dataplane: o.dataplane }, `applyClusterObjects is set but ${why}`);
    return { enabled: false, why };
  }
  return new ClusterApply({
    config,
    registry: o.registry,
    synced: o.synced,
    kubeConfig: loadKubeConfig(config.kubeconfig),
    ...(o.metrics ? { metrics: o.metrics } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
}
