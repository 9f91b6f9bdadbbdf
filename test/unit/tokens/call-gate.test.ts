// Bounded concurrency with a bounded queue: overloaded when full, timeout when a waiter's deadline fires.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallGate } from '../../../src/agent/tokens/call-gate.js';
import { RuntimeError } from '../../../src/agent/tokens/runtime-client.js';

const never = new AbortController().signal;

async function rejectsWith(p: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof RuntimeError && e.kind === kind);
}

describe('CallGate', () => {
  it('admits up to `concurrency` calls at once', async () => {
    const g = new CallGate({ concurrency: 2, queue: 0 });
    await g.acquire('op', never);
    await g.acquire('op', never);
    assert.deepEqual(g.stats, { inFlight: 2, waiting: 0, overloaded: 0 });
  });

  it('refuses at once with overloaded when the queue is full', async () => {
    const g = new CallGate({ concurrency: 1, queue: 1 });
    await g.acquire('op', never);
    const waiting = g.acquire('op', never);
    await rejectsWith(g.acquire('op', never), 'overloaded');
    assert.equal(g.stats.overloaded, 1);
    assert.equal(g.stats.waiting, 1);
    void waiting;
  });

  it('hands slots to waiters in arrival order', async () => {
    const g = new CallGate({ concurrency: 1, queue: 3 });
    const release = await g.acquire('op', never);
    const order: number[] = [];
    const ps = [1, 2, 3].map((i) =>
      g.acquire('op', never).then((r) => {
        order.push(i);
        r();
      }),
    );
    release();
    await Promise.all(ps);
    assert.deepEqual(order, [1, 2, 3]);
    assert.deepEqual(g.stats, { inFlight: 0, waiting: 0, overloaded: 0 });
  });

  it('a waiter whose deadline fires leaves the queue with timeout and never takes a slot', async () => {
    const g = new CallGate({ concurrency: 1, queue: 2 });
    const release = await g.acquire('op', never);
    const ctl = new AbortController();
    const p = g.acquire('op', ctl.signal);
    ctl.abort();
    await rejectsWith(p, 'timeout');
    assert.equal(g.stats.waiting, 0);
    release();
    assert.equal(g.stats.inFlight, 0);
  });

  it('an already-expired deadline is refused before queueing', async () => {
    const g = new CallGate({ concurrency: 1, queue: 1 });
    await rejectsWith(g.acquire('op', AbortSignal.abort()), 'timeout');
    assert.equal(g.stats.inFlight, 0);
  });

  it('releasing twice frees one slot only', async () => {
    const g = new CallGate({ concurrency: 1, queue: 0 });
    const r = await g.acquire('op', never);
    r();
    r();
    assert.equal(g.stats.inFlight, 0);
    await g.acquire('op', never);
    await rejectsWith(g.acquire('op', never), 'overloaded');
  });

  it('rejects nonsense bounds naming the setting', () => {
    assert.throws(() => new CallGate({ concurrency: 0, queue: 1 }), /runtimeConcurrency/);
    assert.throws(() => new CallGate({ concurrency: 1, queue: -1 }), /runtimeQueue/);
  });
});
