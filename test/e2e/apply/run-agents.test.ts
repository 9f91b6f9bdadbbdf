// Two whole agents, as two DaemonSet pods would run them: `casa-agent run
// --apply-cluster-objects` as real processes against a real kube-apiserver
// with the Cilium and CASA CRDs. Exactly one writes; what it writes is what
// `casa-agent render` prints for the same objects and settings; a MAS change
// reaches the cluster; the leader stopped with SIGTERM hands over, and the new
// leader keeps the objects reconciled (a hand-deleted one comes back) and
// prunes what a removed MAS no longer renders.
import assert from 'node:assert/strict';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ReferenceRuntime } from '../../../src/agent/dev/runtime/index.js';
import type { AgentState } from '../../../src/agent/diag/state.js';
import { packageRoot } from '../../../src/agent/paths.js';
import { type TestKube, useKube, waitFor } from '../../harness/kube.js';
import { freePort, ProcessGroup } from '../../harness/processes.js';
import { CCEC, CCNP, MANAGED, masBody, ok } from './support.js';

const fixture = useKube();
const MAIN = join(packageRoot(), process.env.CASA_DIST ?? 'dist', 'src/agent/cli/main.js');
const LEASE = 'casa-node-agent-cluster-objects';

interface Agent {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly diag: string;
  readonly flags: string[];
}

interface Obj {
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; managedFields?: { manager: string }[] };
  spec: unknown;
}

describe('casa-agent run --apply-cluster-objects, two agents', { skip: fixture.skip }, () => {
  let runtime: ReferenceRuntime;
  let procs: ProcessGroup;
  let scratch: string;

  before(async () => {
    runtime = await ReferenceRuntime.start();
    procs = new ProcessGroup(mkdtempSync(join(tmpdir(), 'casa-run-agents-')));
    scratch = mkdtempSync(join(tmpdir(), 'casa-run-agents-render-'));
  });
  after(async () => {
    await procs?.close();
    await runtime?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function startAgent(kube: TestKube, agentNs: string, name: string): Promise<Agent> {
    const [authz, xds, diag] = [await freePort(), await freePort(), await freePort()];
    // The settings the rendered objects carry (the agent's loopback ports) come first: render gets them too.
    const flags = ['--authz-listen', `127.0.0.1:${authz}`, '--xds-listen', `127.0.0.1:${xds}`];
    const child = procs.spawn(name, process.execPath, [
      MAIN,
      'run',
      ...flags,
      '--diag-listen',
      `127.0.0.1:${diag}`,
      '--inventory',
      'kubernetes',
      '--kubeconfig',
      kube.kubeconfigPath,
      '--node-name',
      `node-${name}`,
      '--pod-name',
      name,
      '--agent-namespace',
      agentNs,
      '--runtime-url',
      runtime.url,
      '--apply-cluster-objects',
      'true',
      '--apply-lease-duration',
      '3s',
      '--apply-renew-deadline',
      '2s',
      '--apply-retry-period',
      '200ms',
      '--apply-resync',
      '1s',
    ]);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { name, child, exited, diag: `http://127.0.0.1:${diag}`, flags };
  }

  async function state(a: Agent): Promise<AgentState | undefined> {
    const r = await fetch(`${a.diag}/debug/state`).catch(() => undefined);
    return r?.ok ? ((await r.json()) as AgentState) : undefined;
  }

  async function leaderFlag(a: Agent): Promise<boolean | undefined> {
    const apply = (await state(a))?.apply;
    return apply?.enabled ? apply.election.leader : undefined;
  }

  /** What `casa-agent render` prints for these manifests and the leader's settings. */
  function rendered(leader: Agent, manifests: readonly unknown[]): Obj[] {
    const dir = join(scratch, `m-${Date.now()}-${Math.random().toString(16).slice(2)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'objects.yaml'), manifests.map((m) => stringify(m)).join('---\n'));
    const r = spawnSync(
      process.execPath,
      [MAIN, 'render', '--manifests', dir, ...leader.flags, '--output', 'json'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { items: Obj[] }).items;
  }

  async function live(kube: TestKube): Promise<Obj[]> {
    const out: Obj[] = [];
    for (const path of [CCEC, CCNP]) {
      const r = await kube.request('GET', path);
      assert.equal(r.status, 200);
      out.push(...(r.body as { items: Obj[] }).items);
    }
    return out;
  }

  let lastDiff = '';
  /** Live objects equal the rendered ones: same names, same specs (else lastDiff says how they differ). */
  async function matches(kube: TestKube, want: readonly Obj[]): Promise<boolean> {
    const have = await live(kube);
    const id = (o: Obj) => `${o.kind}/${o.metadata.name}`;
    const diffs: string[] = [];
    if (have.length !== want.length)
      diffs.push(`live ${have.map(id).join(',')} vs rendered ${want.map(id).join(',')}`);
    for (const w of want) {
      const h = have.find((o) => id(o) === id(w));
      if (!h) diffs.push(`${id(w)} missing`);
      else {
        try {
          assert.deepEqual(h.spec, w.spec);
        } catch (err) {
          diffs.push(`${id(w)}: ${(err as Error).message.slice(0, 1500)}`);
        }
      }
    }
    lastDiff = diffs.join('\n');
    return diffs.length === 0;
  }

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    try {
      await waitFor(what, 30_000, check);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${lastDiff}\n${procs.tail.text(20)}`);
    }
  }

  async function holder(kube: TestKube, ns: string): Promise<string | undefined> {
    const r = await kube.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${LEASE}`);
    return r.status === 200
      ? (r.body as { spec?: { holderIdentity?: string } }).spec?.holderIdentity
      : undefined;
  }

  it('one writer applies the rendered objects, follows the MAS, hands over on SIGTERM, repairs and prunes', async () => {
    const kube = fixture.kube;
    const agentNs = await kube.newNamespace({ prefix: 'casa' });
    const appNs = await kube.newNamespace({ prefix: 'travel', labels: MANAGED });
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'planner', namespace: appNs },
      spec: { ports: [{ port: 8000, protocol: 'TCP' }], selector: { app: 'planner' } },
    };
    const mas = masBody(appNs, 'trip', 'llm.example.com', [{ name: 'planner', port: 8000 }]);
    await ok(kube.request('POST', `/api/v1/namespaces/${appNs}/services`, service), 'service');
    await ok(
      kube.request('POST', `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems`, mas),
      'MAS',
    );

    const agents = [await startAgent(kube, agentNs, 'agent-a'), await startAgent(kube, agentNs, 'agent-b')];
    await waitFor('one agent holds the Lease and the other knows it', 30_000, async () => {
      const flags = await Promise.all(agents.map(leaderFlag));
      return flags.filter((f) => f === true).length === 1 && flags.filter((f) => f === false).length === 1;
    });
    const holding = await holder(kube, agentNs);
    const first = agents.find((a) => a.name === holding);
    assert.ok(first, 'the Lease names one of the agents');
    const second = agents.find((a) => a !== first) as Agent;

    // What the writer applies is what render prints for the same objects and settings.
    const want1 = rendered(first, [service, mas]);
    await until('the objects equal casa-agent render', () => matches(kube, want1));
    for (const o of await live(kube)) {
      assert.deepEqual(
        (o.metadata.managedFields ?? []).map((f) => f.manager),
        ['casa-node-agent'],
        `${o.kind}/${o.metadata.name}`,
      );
    }
    // The follower never wrote: its applier has no reconcile at all.
    const follower = (await state(second))?.apply;
    assert.ok(follower?.enabled);
    assert.equal(follower.reconciles.ok + follower.reconciles.error, 0);

    // A MAS change reaches the cluster.
    const changed = { ...mas, spec: { ...mas.spec, llm_host: 'llm.internal.example.org' } };
    const put = await kube.request(
      'GET',
      `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems/trip`,
    );
    const resourceVersion = (put.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    await ok(
      kube.request('PUT', `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems/trip`, {
        ...changed,
        metadata: { ...changed.metadata, resourceVersion },
      }),
      'MAS update',
    );
    const want2 = rendered(first, [service, changed]);
    await until('the objects follow the changed MAS', () => matches(kube, want2));

    // SIGTERM: the writer exits 0 and releases the Lease; the other takes over.
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, procs.tail.text());
    await waitFor('the other agent leads', 30_000, async () => (await leaderFlag(second)) === true);
    assert.equal(await holder(kube, agentNs), second.name);
    const want3 = rendered(second, [service, changed]);
    await until('the new writer applies its own rendering', () => matches(kube, want3));

    // A hand-deleted object comes back.
    await ok(kube.request('DELETE', `${CCNP}/casa-node-agent`), 'delete the policy by hand');
    await waitFor(
      'the policy is back',
      30_000,
      async () => (await kube.request('GET', `${CCNP}/casa-node-agent`)).status === 200,
    );

    // The MAS removed: what it rendered (its Service redirect, its llm_host) goes.
    await ok(
      kube.request('DELETE', `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems/trip`),
      'MAS delete',
    );
    const want4 = rendered(second, [service]);
    await until('the objects are those of no MAS', () => matches(kube, want4));
    assert.doesNotMatch(JSON.stringify(await live(kube)), /llm\.internal\.example\.org/);

    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, procs.tail.text());
    assert.ok(!(await holder(kube, agentNs)), 'released on shutdown');
  });
});
