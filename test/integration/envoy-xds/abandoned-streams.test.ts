// Thousands of streams that end every way a stream can end — cancelled,
// half-closed, refused for a protocol error, dropped before their first
// request, and vanishing with their process (SIGKILL) — leave no watcher, no
// stream state and no /debug/state entry behind.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EnvoyCodec } from '../../../src/envoy-xds/codec.js';
import { TYPE_URL } from '../../../src/envoy-xds/discovery.js';
import { XdsServer } from '../../../src/envoy-xds/server.js';
import { SnapshotStore } from '../../../src/envoy-xds/snapshot-store.js';
import { cluster } from '../../unit/envoy-xds/fixtures.js';
import { RawXdsClient } from './raw-xds-client.js';

const CHILD = fileURLToPath(new URL('./xds-stream-child.js', import.meta.url));
const NODES = ['envoy-a', 'envoy-b', 'crashing-envoy'];

describe('abandoned xDS streams leak nothing', () => {
  const store = new SnapshotStore({ codec: new EnvoyCodec() });
  const server = new XdsServer({ store, maxStreams: 10_000 });
  let target = '';

  before(async () => {
    for (const n of NODES) store.setSnapshot(n, { [TYPE_URL.cluster]: [cluster('a'), cluster('b')] });
    target = `127.0.0.1:${(await server.listen({ host: '127.0.0.1', port: 0 })).port}`;
  });
  after(async () => {
    await server.close(500);
  });

  const assertNothingLeft = async () => {
    await waitFor(
      () => server.streamsOpen === 0 && store.watcherCount() === 0,
      () => `${server.streamsOpen} streams, ${store.watcherCount()} watchers still registered`,
    );
    assert.deepEqual(server.clients(), []);
    assert.equal(server.counters().streamsOpen, 0);
  };

  it('3000 streams cancelled, half-closed, refused or dropped early, across reconnect rounds', async () => {
    const client = new RawXdsClient(target);
    try {
      for (let round = 0; round < 3; round++) {
        const calls = Array.from({ length: 1000 }, (_, i) => {
          const kind = i % 5;
          const call = i % 2 === 0 ? client.sotw() : client.delta();
          if (kind === 4) return { kind, call }; // dropped before sending anything
          const node = kind === 3 ? undefined : { id: NODES[i % 2] as string };
          call.send({ node, type_url: TYPE_URL.cluster } as never);
          return { kind, call };
        });
        // Everyone who asked properly got an answer: the streams are really open and watching.
        await Promise.all(calls.filter((c) => c.kind < 3).map((c) => c.call.next(10_000)));
        assert.ok(store.watcherCount() >= 600, `watchers registered: ${store.watcherCount()}`);
        for (const { kind, call } of calls) {
          if (kind === 0 || kind === 4) call.cancel();
          else if (kind === 1) call.end();
          else if (kind === 2) call.cancel();
          // kind 3 (no node) is ended by the server with INVALID_ARGUMENT
        }
        await Promise.all(calls.map((c) => c.call.next(10_000).catch(() => undefined)));
        await assertNothingLeft();
      }
      assert.ok(server.counters().streamsOpened >= 3000);
    } finally {
      client.close();
    }
  });

  it('2000 streams of a process killed with SIGKILL are released', async () => {
    const child = fork(CHILD, [target, '2000', 'crashing-envoy'], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    try {
      const ready = await new Promise<{ ready?: number; error?: string }>((resolve, reject) => {
        child.once('message', resolve);
        child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
      });
      assert.equal(ready.error, undefined);
      assert.equal(store.watcherCount('crashing-envoy'), 2000);
      child.kill('SIGKILL');
      await assertNothingLeft();
      const closed = server.counters().streamsClosed;
      assert.ok((closed.cancelled ?? 0) >= 2000, `closed as cancelled: ${JSON.stringify(closed)}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

async function waitFor(cond: () => boolean, explain: () => string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not released in time: ${explain()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
