// Keeps the cluster-wide objects equal to what the renderer renders, while
// (and only while) this agent holds the Lease:
//   - reconcile = server-side apply every rendered object (field manager
//     casa-node-agent, force: the elected agent is the declared single writer),
//     then delete the objects carrying our ownership label that are no longer
//     rendered. Fields we applied before and no longer render (a removed MAS's
//     Service, its llm_host rule) are removed by the apiserver itself: that is
//     server-side apply's ownership rule;
//   - runs when leadership is won, after registry changes (coalesced), and
//     every resync period (repairs hand edits and deletions);
//   - never before the inventory is synced: rendering a half-listed inventory
//     would drop app Services from the L7 LB config, i.e. let inbound traffic
//     bypass the gate until the next change;
//   - a failure is counted, logged, kept in the state, and retried with
//     exponential backoff; nothing here throws into the caller.
import { type BackoffOptions, backoffDelay } from '../inventory/reflector.js';
import type { Logger } from '../log.js';
import type { KubernetesObject } from '../render/kubernetes-object.js';
import type { ObjectWriter } from './kube-writer.js';
import {
  FIELD_MANAGER,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  objectKey,
  type ResourceType,
  resourceOf,
  withOwnership,
} from './resources.js';

export type ApplyErrorOp = 'render' | 'apply' | 'list' | 'prune';
export type ReconcileOutcome = 'ok' | 'error' | 'not_leader' | 'not_ready';

export interface ApplyObserver {
  reconciled?(outcome: 'ok' | 'error', elapsedMs: number): void;
  error?(op: ApplyErrorOp): void;
  pruned?(count: number): void;
}

export interface ClusterApplierOptions {
  readonly writer: ObjectWriter;
  /** Read before every write: a reconcile stops as soon as leadership is lost. */
  readonly leadership: { readonly isLeader: boolean };
  readonly render: () => readonly KubernetesObject[];
  /** Every type the renderer may emit: what is written, and where pruning looks. */
  readonly resources: readonly ResourceType[];
  /** The inventory is complete (default: always). */
  readonly ready?: () => boolean;
  readonly fieldManager?: string;
  /** Quiet time after a registry change before applying (default 1 s). */
  readonly coalesceMs?: number;
  /** Periodic reconcile while leading (default 60 s). */
  readonly resyncMs?: number;
  /** Retry delays after a failure (default 1 s doubling to 60 s, equal jitter). */
  readonly backoff?: BackoffOptions;
  /** Poll interval while the inventory is not synced (default 1 s). */
  readonly notReadyPollMs?: number;
  readonly observer?: ApplyObserver;
  readonly log?: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface ApplierState {
  readonly fieldManager: string;
  readonly lastAttemptAt?: string;
  readonly lastSuccessAt?: string;
  readonly lastOutcome?: ReconcileOutcome;
  readonly lastError?: string;
  readonly consecutiveFailures: number;
  readonly nextAttemptAt?: string;
  /** What the last successful reconcile applied (kind and name). */
  readonly objects: readonly string[];
  /** What reconciles pruned, newest last (bounded). */
  readonly pruned: readonly string[];
  readonly reconciles: { readonly ok: number; readonly error: number };
}

const PRUNED_KEPT = 20;
const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 60_000 };

class LostLeadership extends Error {}

export class ClusterApplier {
  private readonly now: () => number;
  private readonly fieldManager: string;
  private timer?: NodeJS.Timeout;
  private dueAt?: number;
  private inFlight?: Promise<ReconcileOutcome>;
  private rerun = false;
  private stopped = true;
  private failures = 0;
  private lastAttemptAt?: number;
  private lastSuccessAt?: number;
  private lastOutcome?: ReconcileOutcome;
  private lastError?: string;
  private applied: string[] = [];
  private readonly prunedLog: string[] = [];
  private readonly counts = { ok: 0, error: 0 };

  constructor(private readonly o: ClusterApplierOptions) {
    this.now = o.now ?? Date.now;
    this.fieldManager = o.fieldManager ?? FIELD_MANAGER;
  }

  start(): void {
    this.stopped = false;
    if (this.o.leadership.isLeader) this.schedule(0);
  }

  /** Stops scheduling and waits for a reconcile in flight (no write starts after this resolves). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel();
    await this.inFlight;
  }

  /** Leadership won: reconcile now. Lost: stop scheduling (a reconcile in flight stops at its next write). */
  leadershipChanged(leader: boolean): void {
    if (leader) {
      this.failures = 0;
      this.schedule(0, true);
    } else this.cancel();
  }

  /** The inputs of the renderer changed (registry onChange). */
  changed(): void {
    if (!this.o.leadership.isLeader) return;
    // While failing, the backoff stands: a burst of changes must not turn into a burst of retries.
    if (this.failures > 0 && this.dueAt !== undefined) return;
    this.schedule(this.o.coalesceMs ?? 1_000);
  }

  /** One reconcile now (the scheduler calls it; tests may too). Never rejects. */
  reconcile(): Promise<ReconcileOutcome> {
    if (this.inFlight) {
      this.rerun = true;
      return this.inFlight;
    }
    this.cancel();
    const run = this.run().finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = run;
    void run.then((outcome) => this.after(outcome));
    return run;
  }

  state(): ApplierState {
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    return {
      fieldManager: this.fieldManager,
      ...(this.lastAttemptAt !== undefined ? { lastAttemptAt: iso(this.lastAttemptAt) } : {}),
      ...(this.lastSuccessAt !== undefined ? { lastSuccessAt: iso(this.lastSuccessAt) } : {}),
      ...(this.lastOutcome ? { lastOutcome: this.lastOutcome } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      consecutiveFailures: this.failures,
      ...(this.dueAt !== undefined ? { nextAttemptAt: iso(this.dueAt) } : {}),
      objects: [...this.applied],
      pruned: [...this.prunedLog],
      reconciles: { ...this.counts },
    };
  }

  private async run(): Promise<ReconcileOutcome> {
    if (!this.o.leadership.isLeader) return 'not_leader';
    if (this.o.ready && !this.o.ready()) return 'not_ready';
    const started = this.now();
    this.lastAttemptAt = started;
    const errors: string[] = [];
    const fail = (op: ApplyErrorOp, what: string, err: unknown) => {
      const message = `${op} ${what}: ${err instanceof Error ? err.message : String(err)}`;
      errors.push(message);
      this.o.observer?.error?.(op);
      this.o.log?.warn({ op, err: message }, 'cluster object apply failed');
    };
    try {
      let objects: KubernetesObject[];
      try {
        objects = this.o.render().map(withOwnership);
        for (const obj of objects) resourceOf(this.o.resources, obj);
      } catch (err) {
        fail('render', 'objects', err);
        return this.finish('error', started, errors);
      }
      const wanted = new Set<string>();
      for (const obj of objects) {
        const key = objectKey({ kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace });
        wanted.add(key);
        this.assertLeader();
        try {
          await this.o.writer.apply(resourceOf(this.o.resources, obj), obj, {
            fieldManager: this.fieldManager,
            force: true,
          });
        } catch (err) {
          fail('apply', key, err);
        }
      }
      const selector = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
      // Policies before the configs they may reference: the reverse of the render order.
      for (const type of [...this.o.resources].reverse()) {
        let live: { name: string; namespace?: string }[];
        try {
          live = await this.o.writer.list(type, selector);
        } catch (err) {
          fail('list', type.plural, err);
          continue;
        }
        for (const ref of live) {
          const key = objectKey({ kind: type.kind, ...ref });
          if (wanted.has(key)) continue;
          this.assertLeader();
          try {
            if (await this.o.writer.delete(type, ref)) {
              this.prunedLog.push(key);
              if (this.prunedLog.length > PRUNED_KEPT) this.prunedLog.shift();
              this.o.observer?.pruned?.(1);
              this.o.log?.info({ object: key }, 'pruned an object no longer rendered');
            }
          } catch (err) {
            fail('prune', key, err);
          }
        }
      }
      if (errors.length === 0) this.applied = [...wanted];
      return this.finish(errors.length === 0 ? 'ok' : 'error', started, errors);
    } catch (err) {
      if (err instanceof LostLeadership) {
        this.o.log?.info('leadership lost during a reconcile; stopped before the next write');
        this.lastOutcome = 'not_leader';
        return 'not_leader';
      }
      fail('apply', 'reconcile', err);
      return this.finish('error', started, errors);
    }
  }

  private assertLeader(): void {
    if (!this.o.leadership.isLeader) throw new LostLeadership();
  }

  private finish(outcome: 'ok' | 'error', started: number, errors: readonly string[]): ReconcileOutcome {
    const elapsed = this.now() - started;
    this.lastOutcome = outcome;
    this.counts[outcome] += 1;
    this.o.observer?.reconciled?.(outcome, elapsed);
    if (outcome === 'ok') {
      this.failures = 0;
      this.lastError = undefined;
      this.lastSuccessAt = this.now();
    } else {
      this.failures += 1;
      // Bounded: one line per failing object at most, each already bounded by the apiserver's message.
      this.lastError = errors.slice(0, 5).join('; ');
    }
    return outcome;
  }

  private after(outcome: ReconcileOutcome): void {
    if (this.stopped) return;
    const rerun = this.rerun;
    this.rerun = false;
    if (outcome === 'not_leader') return;
    if (outcome === 'not_ready') this.schedule(this.o.notReadyPollMs ?? 1_000);
    else if (outcome === 'error')
      this.schedule(
        backoffDelay(this.failures, this.o.backoff ?? DEFAULT_BACKOFF, this.o.random ?? Math.random),
        true,
      );
    else this.schedule(rerun ? (this.o.coalesceMs ?? 1_000) : (this.o.resyncMs ?? 60_000), true);
  }

  /** Arms the timer unless one is due sooner (`replace`: set it regardless). */
  private schedule(delayMs: number, replace = false): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.rerun = true;
      return;
    }
    const due = this.now() + delayMs;
    if (!replace && this.dueAt !== undefined && this.dueAt <= due) return;
    this.cancel();
    this.dueAt = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dueAt = undefined;
      void this.reconcile();
    }, delayMs);
    this.timer.unref();
  }

  private cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = undefined;
  }
}
