// The reconcile rules of applier.ts against an in-memory writer: apply then
// prune only what carries our label, nothing before the inventory is synced,
// no write after leadership is lost, and failures counted and backed off.
// Real server-side apply is exercised in test/e2e/apply.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterApplier } from '../../../src/agent/apply/applier.js';
import type { ObjectRef, ObjectWriter } from '../../../src/agent/apply/kube-writer.js';
import {
  CILIUM_RESOURCES,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  type ResourceType,
} from '../../../src/agent/apply/resources.js';
import type { KubernetesObject } from '../../../src/agent/render/kubernetes-object.js';

class MemoryWriter implements ObjectWriter {
  readonly objects = new Map<string, { kind: string; labels: Record<string, string> }>();
  readonly calls: string[] = [];
  failApply?: string;
  beforeWrite?: () => void;
  async apply(type: ResourceType, obj: KubernetesObject) {
    this.beforeWrite?.();
    this.calls.push(`apply ${obj.metadata.name}`);
    if (this.failApply === obj.metadata.name) throw new Error('HTTP 422: spec.resources: Required value');
    this.objects.set(obj.metadata.name, { kind: type.kind, labels: { ...obj.metadata.labels } });
    return '1';
  }
  async list(type: ResourceType, selector: string): Promise<ObjectRef[]> {
    const [k, v] = selector.split('=');
    return [...this.objects]
      .filter(([, o]) => o.kind === type.kind && o.labels[k ?? ''] === v)
      .map(([name]) => ({ name }));
  }
  async delete(_type: ResourceType, ref: ObjectRef) {
    this.beforeWrite?.();
    this.calls.push(`delete ${ref.name}`);
    return this.objects.delete(ref.name);
  }
}

const config = (name: string): KubernetesObject => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumClusterwideEnvoyConfig',
  metadata: { name, labels: { 'app.kubernetes.io/part-of': 'casa-node-agent' } },
  spec: { resources: [] },
});

function applier(
  writer: MemoryWriter,
  o: { leader?: { isLeader: boolean }; ready?: () => boolean; render?: () => KubernetesObject[] } = {},
) {
  return new ClusterApplier({
    writer,
    leadership: o.leader ?? { isLeader: true },
    render: o.render ?? (() => [config('a'), config('b')]),
    resources: CILIUM_RESOURCES,
    ...(o.ready ? { ready: o.ready } : {}),
    backoff: { initialMs: 60_000, maxMs: 60_000 },
  });
}

describe('cluster applier', () => {
  it('applies every rendered object with the ownership label, then prunes owned objects no longer rendered — only those', async () => {
    const w = new MemoryWriter();
    w.objects.set('old', {
      kind: 'CiliumClusterwideEnvoyConfig',
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    });
    w.objects.set('foreign', { kind: 'CiliumClusterwideEnvoyConfig', labels: {} });
    const ap = applier(w);
    assert.equal(await ap.reconcile(), 'ok');
    assert.deepEqual(w.calls, ['apply a', 'apply b', 'delete old']);
    assert.equal(w.objects.get('a')?.labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.ok(w.objects.has('foreign'));
    assert.deepEqual(ap.state().pruned, ['CiliumClusterwideEnvoyConfig old']);
    await ap.stop();
  });

  it('writes nothing before the inventory is synced (a half-listed inventory would drop app Services)', async () => {
    const w = new MemoryWriter();
    const ap = applier(w, { ready: () => false });
    assert.equal(await ap.reconcile(), 'not_ready');
    assert.deepEqual(w.calls, []);
    await ap.stop();
  });

  it('a follower writes nothing; a leader that loses the Lease mid-reconcile stops before its next write', async () => {
    const w = new MemoryWriter();
    assert.equal(await applier(w, { leader: { isLeader: false } }).reconcile(), 'not_leader');
    assert.deepEqual(w.calls, []);
    // Leadership ends once the first write is done (the renew deadline passed meanwhile).
    const leader = {
      get isLeader() {
        return w.calls.length < 1;
      },
    };
    assert.equal(await applier(w, { leader }).reconcile(), 'not_leader');
    assert.deepEqual(w.calls, ['apply a']);
  });

  it('a refused object fails the reconcile (counted, backed off) but the others are still applied; never rejects', async () => {
    const w = new MemoryWriter();
    w.failApply = 'a';
    const ap = applier(w);
    ap.start();
    assert.equal(await ap.reconcile(), 'error');
    assert.deepEqual(w.calls, ['apply a', 'apply b']);
    const s = ap.state();
    assert.equal(s.consecutiveFailures, 1);
    assert.match(s.lastError ?? '', /apply CiliumClusterwideEnvoyConfig a: HTTP 422/);
    await new Promise((r) => setImmediate(r));
    const due = ap.state().nextAttemptAt;
    assert.ok(due && Date.parse(due) - Date.now() > 20_000, `retry backed off: ${due}`);
    ap.changed();
    assert.equal(ap.state().nextAttemptAt, due, 'a change does not cut the backoff short');
    w.failApply = undefined;
    assert.equal(await ap.reconcile(), 'ok');
    assert.equal(ap.state().consecutiveFailures, 0);
    assert.deepEqual(ap.state().reconciles, { ok: 1, error: 1 });
    await ap.stop();
  });

  it('a renderer that throws is an error, and nothing is written or pruned', async () => {
    const w = new MemoryWriter();
    w.objects.set('old', {
      kind: 'CiliumClusterwideEnvoyConfig',
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    });
    const ap = applier(w, {
      render: () => {
        throw new Error('bad input');
      },
    });
    assert.equal(await ap.reconcile(), 'error');
    assert.deepEqual(w.calls, []);
    assert.match(ap.state().lastError ?? '', /render objects: bad input/);
  });
});
