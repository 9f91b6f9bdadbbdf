// The applier's Prometheus metrics, registered on the agent's own Registry
// (diag/metrics.ts holds the rest; these exist only when applying is on).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ApplyObserver } from './applier.js';
import type { LeaseOp } from './leader-election.js';

export interface ApplyMetrics {
  readonly leader: Gauge;
  readonly reconciles: Counter<'outcome'>;
  readonly errors: Counter<'op'>;
  readonly pruned: Counter;
  readonly lastSuccess: Gauge;
  readonly observer: ApplyObserver;
  leaseError(op: LeaseOp): void;
}

export function createApplyMetrics(registry: Registry): ApplyMetrics {
  const registers = [registry];
  const leader = new Gauge({
    name: 'casa_apply_leader',
    help: '1 while this agent holds the Lease and writes the cluster-wide objects',
    registers,
  });
  const reconciles = new Counter({
    name: 'casa_apply_reconciles_total',
    help: 'Reconciles of the cluster-wide objects by outcome (ok, error)',
    labelNames: ['outcome'],
    registers,
  });
  const errors = new Counter({
    name: 'casa_apply_errors_total',
    help: 'Failed calls of the applier by operation (render, apply, list, prune, lease_get, lease_create, lease_update, lease_release)',
    labelNames: ['op'],
    registers,
  });
  const pruned = new Counter({
    name: 'casa_apply_pruned_total',
    help: 'Objects deleted because they are no longer rendered',
    registers,
  });
  const lastSuccess = new Gauge({
    name: 'casa_apply_last_success_timestamp_seconds',
    help: 'Unix time of the last successful reconcile',
    registers,
  });
  reconciles.inc({ outcome: 'ok' }, 0);
  reconciles.inc({ outcome: 'error' }, 0);
  leader.set(0);
  return {
    leader,
    reconciles,
    errors,
    pruned,
    lastSuccess,
    observer: {
      reconciled: (outcome) => {
        reconciles.inc({ outcome });
        if (outcome === 'ok') lastSuccess.set(Date.now() / 1000);
      },
      error: (op) => errors.inc({ op }),
      pruned: (n) => pruned.inc(n),
    },
    leaseError: (op) => errors.inc({ op: `lease_${op}` }),
  };
}
