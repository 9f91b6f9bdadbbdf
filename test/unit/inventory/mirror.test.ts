import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type InventoryEvent, ObjectMirror, sameRecord } from '../../../src/agent/inventory/events.js';
import { createInventory, inventoryState } from '../../../src/agent/inventory/index.js';
import { decodeTypedObject } from '../../../src/agent/inventory/objects.js';
import { Feed, mas, namespace, pod, secret } from './fixtures.js';

function recorder(): { events: InventoryEvent[]; mirror: ObjectMirror } {
  const events: InventoryEvent[] = [];
  return { events, mirror: new ObjectMirror('s', { apply: (e) => events.push(e) }) };
}

/** JSON with sorted keys: equal for structurally equal values, whatever the key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function summary(events: readonly InventoryEvent[]): string[] {
  return events.map((e) =>
    e.type === 'problem'
      ? `problem ${e.ref} ${e.message ? 'set' : 'cleared'}`
      : `${e.type} ${e.object.kind} ${e.object.key}`,
  );
}

describe('ObjectMirror: raw objects → per-key events', () => {
  it('add, update only on a real change, delete with the last state', () => {
    const { events, mirror } = recorder();
    const p = pod({ name: 'a', ip: '10.0.0.1' });
    mirror.upsert(decodeTypedObject(p));
    mirror.upsert(decodeTypedObject(p));
    mirror.upsert(decodeTypedObject(pod({ name: 'a', ip: '10.0.0.2' })));
    mirror.remove('Pod', p);
    mirror.remove('Pod', p);
    assert.deepEqual(summary(events), ['add Pod travel/a', 'update Pod travel/a', 'delete Pod travel/a']);
    const last = events[2];
    assert.deepEqual(last?.type === 'delete' && last.object.kind === 'Pod' && last.object.ips, ['10.0.0.2']);
  });

  it('a relist deletes what is gone, keeps an object that turned invalid, and clears problems of vanished objects', () => {
    const { events, mirror } = recorder();
    mirror.replace(
      ['Pod'],
      [pod({ name: 'a', ip: '10.0.0.1' }), pod({ name: 'b', ip: '10.0.0.2' })].map(decodeTypedObject),
    );
    events.length = 0;
    mirror.replace(
      ['Pod'],
      [pod({ name: 'a', ip: 'bad' }), pod({ name: 'c', ip: '10.0.0.3' })].map(decodeTypedObject),
    );
    assert.deepEqual(summary(events), [
      'delete Pod travel/b',
      'problem Pod travel/a set',
      'add Pod travel/c',
    ]);
    events.length = 0;
    mirror.replace(['Pod'], [pod({ name: 'c', ip: '10.0.0.3' })].map(decodeTypedObject));
    assert.deepEqual(summary(events), ['problem Pod travel/a cleared', 'delete Pod travel/a']);
  });

  it('a relist of one kind never touches objects of other kinds', () => {
    const { events, mirror } = recorder();
    mirror.upsert(decodeTypedObject(namespace('travel')));
    mirror.replace(['Pod'], []);
    assert.deepEqual(summary(events), ['add Namespace travel']);
  });

  it('clear() deletes everything the stream held', () => {
    const { events, mirror } = recorder();
    mirror.upsert(decodeTypedObject(namespace('travel')));
    mirror.upsert(decodeTypedObject(pod({ name: 'a', ip: 'bad' })));
    mirror.clear();
    assert.deepEqual(summary(events), [
      'add Namespace travel',
      'problem Pod travel/a set',
      'delete Namespace travel',
      'problem Pod travel/a cleared',
    ]);
    assert.equal(mirror.size, 0);
  });

  it('sameRecord is structural equality of plain data (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        assert.equal(sameRecord(a, structuredClone(a)), true);
        assert.equal(sameRecord(a, b), canonical(a) === canonical(b));
      }),
    );
    assert.equal(sameRecord({ a: [1] }, { a: { 0: 1 } }), false);
    assert.equal(sameRecord({ a: undefined }, { b: undefined }), false);
  });
});

describe('inventoryState (/debug/state)', () => {
  it('summarizes workloads and MASes, says whether credentials exist, never shows them', () => {
    const inv = createInventory({ source: 'file', manifests: '/nonexistent', nodeName: 'node-a' });
    new Feed(inv.registry).upsert(
      namespace('travel'),
      mas('travel', 'trip', [{ name: 'planner' }]),
      pod({ name: 'planner', ip: '10.0.0.1' }),
      secret('travel', 'planner-oauth2-credentials', { clientId: 'the-id', clientSecret: 'the-secret' }),
    );
    const state = inventoryState(inv);
    assert.deepEqual(state.localWorkloads, [
      {
        namespace: 'travel',
        pod: 'planner',
        ips: ['10.0.0.1'],
        mas: 'travel/trip',
        app: 'planner',
        type: 'agent',
        credentials: true,
      },
    ]);
    assert.deepEqual(state.multiAgentSystems, [{ namespace: 'travel', name: 'trip', apps: 1 }]);
    assert.equal(state.source, 'file');
    assert.equal(state.synced, false);
    assert.equal(state.clusterWorkloads, 1);
    const text = JSON.stringify(state);
    assert.ok(!text.includes('the-secret') && !text.includes('the-id'));
    inv.registry.close();
  });

  it('createInventory refuses a file source without a folder', () => {
    assert.throws(() => createInventory({ source: 'file' }), /--inventory file needs --manifests/);
  });
});
