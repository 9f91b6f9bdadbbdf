// Lease-based election of the one agent that writes the cluster-wide objects,
// with client-go's rules (k8s.io/client-go/tools/leaderelection):
//   - a Lease held by someone else counts as expired only when *this* agent
//     has seen it unchanged for leaseDuration on its own clock (never compare
//     another node's renewTime with ours: clocks differ);
//   - the holder renews every retryPeriod and steps down by itself when it has
//     not renewed for renewDeadline (< leaseDuration), so it stops writing
//     before anybody else may take over;
//   - every write carries the resourceVersion it read, so a race has one winner;
//   - on shutdown the holder releases the Lease (empty holder), and another
//     agent takes over at its next retry instead of after leaseDuration.
import type { Logger } from '../log.js';
import { LeaseConflict, type LeaseRecord, type LeaseStore, type StoredLease } from './lease-store.js';

export interface ElectionTiming {
  /** How long a Lease not renewed stays valid for the others (default 15 s). */
  readonly leaseDurationMs: number;
  /** The holder steps down when it could not renew for this long (default 10 s). */
  readonly renewDeadlineMs: number;
  /** Time between attempts to acquire or renew (default 2 s; candidates add up to 20 % jitter). */
  readonly retryPeriodMs: number;
}

export const DEFAULT_TIMING: ElectionTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

export type LeaseOp = 'get' | 'create' | 'update' | 'release';

export interface LeaderElectionOptions {
  readonly store: LeaseStore;
  /** Holder identity: the pod name (unique per agent). */
  readonly identity: string;
  readonly timing?: Partial<ElectionTiming>;
  readonly onStartedLeading?: () => void;
  readonly onStoppedLeading?: () => void;
  readonly onError?: (op: LeaseOp, err: Error) => void;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly log?: Logger;
}

export interface ElectionState {
  readonly lease: string;
  readonly identity: string;
  readonly leader: boolean;
  /** The holder as last read (undefined: free or not read yet). */
  readonly holder?: string;
  readonly leaderSince?: string;
  readonly lastRenewAt?: string;
  readonly transitions?: number;
  readonly lastError?: string;
}

export function validateTiming(t: ElectionTiming): void {
  if (!(t.renewDeadlineMs < t.leaseDurationMs)) {
    throw new Error(
      `lease timing: renewDeadline (${t.renewDeadlineMs} ms) must be shorter than leaseDuration (${t.leaseDurationMs} ms)`,
    );
  }
  if (!(t.retryPeriodMs * 1.2 < t.renewDeadlineMs)) {
    throw new Error(
      `lease timing: retryPeriod (${t.retryPeriodMs} ms, +20 % jitter) must be shorter than renewDeadline (${t.renewDeadlineMs} ms)`,
    );
  }
}

export class LeaderElection {
  private readonly timing: ElectionTiming;
  private readonly now: () => number;
  private readonly random: () => number;
  private leader = false;
  private leaderSince?: number;
  private lastRenewAt?: number;
  private observed?: StoredLease;
  private observedAt = 0;
  private lastError?: string;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** The retry loop runs (start() until stop()). */
  private looping = false;
  /** stop() began: no new leadership from here on. */
  private stopping = false;

  constructor(private readonly o: LeaderElectionOptions) {
    this.timing = { ...DEFAULT_TIMING, ...o.timing };
    validateTiming(this.timing);
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  get isLeader(): boolean {
    // Re-checked at every read: a leader whose renewals hang must not keep writing.
    if (this.leader && this.lastRenewAt !== undefined) {
      if (this.now() - this.lastRenewAt > this.timing.renewDeadlineMs) this.stepDown('renew deadline passed');
    }
    return this.leader;
  }

  start(): void {
    if (this.looping) return;
    this.looping = true;
    this.stopping = false;
    this.schedule(0);
  }

  /**
   * Stops competing. `release` (default) hands the Lease back when held, so
   * another agent takes over at once; without it the Lease simply expires
   * (what a crash looks like to the others).
   */
  async stop(o: { release?: boolean } = {}): Promise<void> {
    this.looping = false;
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
    // Also when the last write made us holder after stop() began (leader flag not set then).
    const holds = this.leader || this.observed?.holder === this.o.identity;
    this.stepDown('stopping');
    if (holds && o.release !== false) await this.release();
  }

  /** One attempt to acquire or renew (the loop calls it; tests may too). */
  async step(): Promise<void> {
    const started = this.now();
    let current: StoredLease | undefined;
    try {
      current = await this.o.store.get();
    } catch (err) {
      this.fail('get', err);
      return;
    }
    if (!current) {
      await this.write(
        'create',
        () =>
          this.o.store.create({
            holder: this.o.identity,
            leaseDurationSeconds: this.durationSeconds(),
            acquireTime: new Date(started),
            renewTime: new Date(started),
            transitions: 0,
          }),
        started,
      );
      return;
    }
    if (current.resourceVersion !== this.observed?.resourceVersion) {
      this.observed = current;
      this.observedAt = started;
    }
    const ours = current.holder === this.o.identity;
    if (current.holder && !ours) {
      const validFor = (current.leaseDurationSeconds || this.durationSeconds()) * 1000;
      if (this.observedAt + validFor > started) {
        if (this.leader) this.stepDown(`Lease taken by ${current.holder}`);
        return;
      }
    }
    const next: LeaseRecord = {
      holder: this.o.identity,
      leaseDurationSeconds: this.durationSeconds(),
      acquireTime: ours && current.acquireTime ? current.acquireTime : new Date(started),
      renewTime: new Date(started),
      transitions: ours ? current.transitions : current.transitions + 1,
    };
    await this.write('update', () => this.o.store.update(next, current.resourceVersion), started);
  }

  state(): ElectionState {
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    const leader = this.isLeader;
    return {
      lease: this.o.store.description,
      identity: this.o.identity,
      leader,
      ...(this.observed?.holder ? { holder: this.observed.holder } : {}),
      ...(leader && this.leaderSince !== undefined ? { leaderSince: iso(this.leaderSince) } : {}),
      ...(leader && this.lastRenewAt !== undefined ? { lastRenewAt: iso(this.lastRenewAt) } : {}),
      ...(this.observed ? { transitions: this.observed.transitions } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private durationSeconds(): number {
    return Math.max(1, Math.ceil(this.timing.leaseDurationMs / 1000));
  }

  private async write(op: 'create' | 'update', call: () => Promise<StoredLease>, started: number) {
    try {
      const written = await call();
      this.observed = written;
      this.observedAt = started;
      this.lastRenewAt = started;
      this.lastError = undefined;
      if (!this.leader && !this.stopping) {
        this.leader = true;
        this.leaderSince = started;
        this.o.log?.info({ lease: this.o.store.description, identity: this.o.identity }, 'became the leader');
        this.o.onStartedLeading?.();
      }
    } catch (err) {
      // A lost race is the normal outcome for all but one agent: no error.
      if (!(err instanceof LeaseConflict)) this.fail(op, err);
    }
  }

  private fail(op: LeaseOp, err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.lastError = `${op}: ${e.message}`;
    this.o.onError?.(op, e);
    this.o.log?.warn({ lease: this.o.store.description, op, err: e.message }, 'Lease call failed');
  }

  private stepDown(why: string): void {
    if (!this.leader) return;
    this.leader = false;
    this.leaderSince = undefined;
    this.o.log?.info({ lease: this.o.store.description, identity: this.o.identity, why }, 'stopped leading');
    this.o.onStoppedLeading?.();
  }

  private async release(): Promise<void> {
    try {
      const current = await this.o.store.get();
      if (!current || current.holder !== this.o.identity) return;
      const at = new Date(this.now());
      // As client-go releases: no holder, and a 1 s duration for readers that compare times.
      await this.o.store.update(
        { leaseDurationSeconds: 1, acquireTime: at, renewTime: at, transitions: current.transitions },
        current.resourceVersion,
      );
      this.o.log?.info({ lease: this.o.store.description }, 'released the Lease');
    } catch (err) {
      if (!(err instanceof LeaseConflict)) this.fail('release', err);
    }
  }

  private schedule(delayMs: number): void {
    if (!this.looping) return;
    this.timer = setTimeout(() => {
      this.running = this.step()
        .catch((err: unknown) => this.fail('get', err))
        .finally(() => {
          this.running = undefined;
          // Re-evaluates the renew deadline after every attempt.
          const leader = this.isLeader;
          const period = this.timing.retryPeriodMs;
          this.schedule(leader ? period : period * (1 + 0.2 * this.random()));
        });
    }, delayMs);
    this.timer.unref();
  }
}
