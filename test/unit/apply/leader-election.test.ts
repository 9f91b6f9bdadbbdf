// The election rules of leader-election.ts, step by step on a fake clock and
// an in-memory Lease with the apiserver's optimistic concurrency (a write with
// a stale resourceVersion is a conflict). The real Lease API is exercised in
// test/e2e/apply.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { electionTiming } from '../../../src/agent/apply/index.js';
import { LeaderElection, validateTiming } from '../../../src/agent/apply/leader-election.js';
import {
  LeaseConflict,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
} from '../../../src/agent/apply/lease-store.js';
import { ConfigError, loadConfig } from '../../../src/agent/config/load.js';

class MemoryLease implements LeaseStore {
  readonly description = 'casa-system/test';
  lease?: StoredLease;
  failing = false;
  private rv = 0;
  async get() {
    if (this.failing) throw new Error('apiserver unreachable');
    return this.lease;
  }
  async create(r: LeaseRecord) {
    if (this.failing) throw new Error('apiserver unreachable');
    if (this.lease) throw new LeaseConflict('exists');
    this.lease = { ...r, resourceVersion: String(++this.rv) };
    return this.lease;
  }
  async update(r: LeaseRecord, resourceVersion: string) {
    if (this.failing) throw new Error('apiserver unreachable');
    if (this.lease?.resourceVersion !== resourceVersion) throw new LeaseConflict('changed');
    this.lease = { ...r, resourceVersion: String(++this.rv) };
    return this.lease;
  }
}

const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function candidate(store: LeaseStore, identity: string, clock: { t: number }) {
  const events: string[] = [];
  const e = new LeaderElection({
    store,
    identity,
    timing,
    now: () => clock.t,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
    onError: (op) => events.push(`error:${op}`),
  });
  return { e, events };
}

describe('leader election', () => {
  it('the first candidate creates the Lease and leads; the next one follows while it is renewed', async () => {
    const store = new MemoryLease();
    const clock = { t: 1_000_000 };
    const a = candidate(store, 'a', clock);
    const b = candidate(store, 'b', clock);
    await a.e.step();
    await b.e.step();
    assert.equal(a.e.isLeader, true);
    assert.equal(b.e.isLeader, false);
    assert.equal(store.lease?.holder, 'a');
    assert.equal(store.lease?.leaseDurationSeconds, 15);
    for (let i = 0; i < 10; i++) {
      clock.t += 2_000;
      await a.e.step();
      await b.e.step();
    }
    assert.equal(b.e.isLeader, false, 'a renewed every 2 s: never expired for b');
    assert.equal(store.lease?.transitions, 0);
    assert.deepEqual(a.events, ['started']);
  });

  it('two candidates racing on an empty Lease: exactly one wins (the other gets a conflict, not an error)', async () => {
    const store = new MemoryLease();
    const clock = { t: 0 };
    const a = candidate(store, 'a', clock);
    const b = candidate(store, 'b', clock);
    await Promise.all([a.e.step(), b.e.step()]);
    assert.equal(Number(a.e.isLeader) + Number(b.e.isLeader), 1);
    assert.deepEqual([...a.events, ...b.events], ['started']);
  });

  it('expiry is judged on the candidate’s own clock from when it saw the Lease change, not on the holder’s renewTime', async () => {
    const store = new MemoryLease();
    // The holder's clock is an hour behind: its renewTime looks ancient to b.
    await store.create({ holder: 'a', leaseDurationSeconds: 15, renewTime: new Date(0), transitions: 0 });
    const clock = { t: 3_600_000 };
    const b = candidate(store, 'b', clock);
    await b.e.step();
    assert.equal(b.e.isLeader, false, 'first sight: valid for a full lease duration');
    clock.t += 14_999;
    await b.e.step();
    assert.equal(b.e.isLeader, false);
    clock.t += 2;
    await b.e.step();
    assert.equal(b.e.isLeader, true, 'unchanged for longer than 15 s: expired');
    assert.equal(store.lease?.holder, 'b');
    assert.equal(store.lease?.transitions, 1);
  });

  it('a holder that cannot renew steps down at the renew deadline, before the others may take over', async () => {
    const store = new MemoryLease();
    const clock = { t: 0 };
    const a = candidate(store, 'a', clock);
    await a.e.step();
    store.failing = true;
    clock.t += 2_000;
    await a.e.step();
    assert.equal(a.e.isLeader, true, 'within the deadline');
    clock.t += 8_001;
    assert.equal(a.e.isLeader, false, '10 s without a renewal');
    assert.deepEqual(a.events, ['started', 'error:get', 'stopped']);
    assert.match(a.e.state().lastError ?? '', /get: apiserver unreachable/);
  });

  it('stop() releases the Lease: the next candidate takes over at its next attempt, without waiting', async () => {
    const store = new MemoryLease();
    const clock = { t: 0 };
    const a = candidate(store, 'a', clock);
    const b = candidate(store, 'b', clock);
    await a.e.step();
    await b.e.step();
    await a.e.stop();
    assert.equal(store.lease?.holder, undefined);
    assert.deepEqual(a.events, ['started', 'stopped']);
    clock.t += 1;
    await b.e.step();
    assert.equal(b.e.isLeader, true);
    assert.equal(store.lease?.transitions, 1);
  });

  it('stop({ release: false }) leaves the Lease as a crash would', async () => {
    const store = new MemoryLease();
    const a = candidate(store, 'a', { t: 0 });
    await a.e.step();
    await a.e.stop({ release: false });
    assert.equal(a.e.isLeader, false);
    assert.equal(store.lease?.holder, 'a');
  });

  it('timings that would let two writers overlap are refused', () => {
    assert.throws(
      () => validateTiming({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
      /renewDeadline .* shorter than leaseDuration/,
    );
    assert.throws(
      () => validateTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 9_000 }),
      /retryPeriod .* shorter than renewDeadline/,
    );
    validateTiming(timing);
  });

  it('the settings: defaults are valid; a bad combination is a ConfigError naming the setting', () => {
    assert.deepEqual(electionTiming(loadConfig({ flags: {}, env: {} })), timing);
    const bad = loadConfig({ flags: {}, env: { CASA_APPLY_RENEW_DEADLINE: '20s' } });
    assert.throws(
      () => electionTiming(bad),
      (err) => err instanceof ConfigError && err.field === 'applyRenewDeadline',
    );
    const slow = loadConfig({ flags: { applyRetryPeriod: '9s' }, env: {} });
    assert.throws(
      () => electionTiming(slow),
      (err) => err instanceof ConfigError && err.field === 'applyRetryPeriod',
    );
  });
});
