import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ObjectMirror } from '../../../src/agent/inventory/events.js';
import { backoffDelay, Reflector, type RestartCause } from '../../../src/agent/inventory/reflector.js';
import { WorkloadRegistry } from '../../../src/agent/inventory/registry.js';
import { Feed, mas, namespace, pod } from './fixtures.js';
import { ScriptedApi } from './scripted-api.js';

async function waitFor(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await sleep(2);
  }
}

describe('reflector: list, then watch, relist on 410, back off on errors', { timeout: 30_000 }, () => {
  let reflector: Reflector | undefined;
  afterEach(async () => {
    await reflector?.stop();
    reflector = undefined;
  });

  function setup() {
    const api = new ScriptedApi();
    const reg = new WorkloadRegistry({ nodeName: 'node-a' });
    new Feed(reg, 'static').upsert(
      namespace('travel'),
      mas('travel', 'trip', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]),
    );
    const causes: RestartCause[] = [];
    reflector = new Reflector({
      api,
      kind: 'Pod',
      path: '/api/v1/pods',
      query: { fieldSelector: 'spec.nodeName=node-a' },
      mirror: new ObjectMirror('pods@node', reg),
      backoff: { initialMs: 1, maxMs: 8 },
      watchTimeoutSeconds: [300, 600],
      random: () => 0.5,
      onRestart: (c) => causes.push(c),
    });
    const apps = () =>
      ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => reg.podByIp(ip)?.app.name ?? '-').join(',');
    return { api, reg, causes, r: reflector, apps };
  }

  const a = pod({ name: 'a', ip: '10.0.0.1' });
  const b = pod({ name: 'b', ip: '10.0.0.2' });
  const c = pod({ name: 'c', ip: '10.0.0.3' });

  it('is synced after the first list and watches from its resourceVersion, with bookmarks and a server timeout', async () => {
    const { api, r, apps } = setup();
    api.set(a);
    r.start();
    assert.equal(r.synced, false);
    await r.whenSynced();
    assert.equal(apps(), 'a,-,-');
    await waitFor('the watch', () => api.watchers.size === 1);
    const list = api.calls[0];
    const watch = api.calls[1];
    assert.deepEqual(list, { op: 'list', query: { fieldSelector: 'spec.nodeName=node-a' } });
    assert.equal(watch?.op, 'watch');
    assert.equal(watch?.query.resourceVersion, '101');
    assert.equal(watch?.query.allowWatchBookmarks, true);
    assert.equal(watch?.query.fieldSelector, 'spec.nodeName=node-a');
    assert.equal(watch?.query.timeoutSeconds, 450);
    await waitFor('connected', () => r.status().connected);
    api.failWatches = 1_000_000;
    api.endWatches(new Error('read ECONNRESET'));
    await waitFor('disconnected', () => !r.status().connected && r.status().restarts > 0);
  });

  it('applies watch events and resumes from the last resourceVersion seen, bookmarks included, without relisting', async () => {
    const { api, r, apps, causes } = setup();
    r.start();
    await r.whenSynced();
    await waitFor('the watch', () => api.watchers.size === 1);
    api.set(a, b);
    assert.equal(apps(), 'a,b,-');
    api.delete(a);
    assert.equal(apps(), '-,b,-');
    api.bookmark();
    const rv = r.status().resourceVersion;
    api.endWatches();
    await waitFor('the second watch', () => api.calls.filter((x) => x.op === 'watch').length === 2);
    assert.equal(api.calls.at(-1)?.query.resourceVersion, rv);
    assert.equal(api.calls.filter((x) => x.op === 'list').length, 1);
    assert.deepEqual(causes, ['closed']);
  });

  it('410 Gone as a watch ERROR event: relists, and the relist deletes what vanished meanwhile (no stale entries)', async () => {
    const { api, r, apps, causes } = setup();
    api.set(a, b);
    r.start();
    await r.whenSynced();
    await waitFor('the watch', () => api.watchers.size === 1);
    api.setSilently([b, c]);
    api.compact();
    api.expireWatches();
    await waitFor('the relist', () => api.calls.filter((x) => x.op === 'list').length === 2);
    await waitFor('the relisted state', () => apps() === '-,b,c');
    assert.deepEqual(causes, ['gone']);
  });

  it('410 Gone as the HTTP status of a resumed watch: relists', async () => {
    const { api, r, apps, causes } = setup();
    api.set(a);
    r.start();
    await r.whenSynced();
    await waitFor('the watch', () => api.watchers.size === 1);
    api.setSilently([c]);
    api.compact();
    api.endWatches();
    await waitFor('the relisted state', () => apps() === '-,-,c');
    assert.deepEqual(causes, ['closed', 'gone']);
  });

  it('while the apiserver is unreachable the last state is served; retries back off, then it recovers', async () => {
    const { api, r, apps, causes } = setup();
    api.set(a, b);
    r.start();
    await r.whenSynced();
    await waitFor('the watch', () => api.watchers.size === 1);
    api.failWatches = 3;
    api.endWatches(new Error('read ECONNRESET'));
    await waitFor('three failed reconnects', () => causes.filter((x) => x === 'error').length >= 3);
    assert.equal(apps(), 'a,b,-', 'last state kept');
    assert.match(r.status().lastError ?? '', /ECONNRESET|socket hang up/);
    await waitFor('the reconnected watch', () => api.watchers.size === 1);
    api.set(c);
    assert.equal(apps(), 'a,b,c');
  });

  it('is not synced until a list succeeds; list failures are retried', async () => {
    const { api, r, apps } = setup();
    api.set(a);
    api.failLists = 3;
    r.start();
    await r.whenSynced();
    assert.equal(api.calls.filter((x) => x.op === 'list').length, 4);
    assert.equal(apps(), 'a,-,-');
  });

  it('stop() ends a pending backoff and the watch; objects stay for the registry', async () => {
    const { api, r, apps } = setup();
    api.set(a);
    r.start();
    await r.whenSynced();
    await waitFor('the watch', () => api.watchers.size === 1);
    await r.stop();
    assert.equal(api.watchers.size, 0);
    assert.equal(apps(), 'a,-,-');
    const slow = new Reflector({
      api: Object.assign(new ScriptedApi(), { failLists: 1000 }),
      kind: 'Pod',
      path: '/api/v1/pods',
      mirror: new ObjectMirror('x', { apply: () => {} }),
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    slow.start();
    await sleep(5);
    await slow.stop(); // would hang for a minute if the backoff sleep were not interrupted
    await slow.whenSynced(); // released by stop
  });
});

describe('backoffDelay: exponential with jitter, capped', () => {
  it('doubles from the initial delay, stays within [base/2, base], never exceeds the cap', () => {
    const o = { initialMs: 100, maxMs: 3000 };
    const bases = [100, 200, 400, 800, 1600, 3000, 3000];
    bases.forEach((base, i) => {
      assert.equal(
        backoffDelay(i + 1, o, () => 0),
        base / 2,
      );
      assert.equal(
        backoffDelay(i + 1, o, () => 1),
        base,
      );
    });
    assert.equal(
      backoffDelay(1000, o, () => 1),
      3000,
    );
    assert.equal(
      backoffDelay(0, o, () => 1),
      100,
    );
  });
});
