// `--inventory file` against a real folder: initial scan, edits picked up by
// fs.watch (and by the periodic rescan), broken files keeping their last good
// objects, and the same events the Kubernetes source produces.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import type { InventoryEvent } from '../../../src/agent/inventory/events.js';
import { FileSource } from '../../../src/agent/inventory/file-source.js';
import { WorkloadRegistry } from '../../../src/agent/inventory/registry.js';
import { mas, namespace, pod, secret } from '../../unit/inventory/fixtures.js';

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await sleep(10);
  }
}

function yamlDocs(...objs: Record<string, unknown>[]): string {
  return objs.map((o) => stringify(o)).join('---\n');
}

const trip = mas('travel', 'trip', [
  { name: 'planner', workload: 'planner', host: 'planner.travel:8080' },
  { name: 'flights', type: 'mcp_server', workload: 'flights-mcp' },
]);

describe('file inventory source', () => {
  let dir: string;
  let reg: WorkloadRegistry;
  let source: FileSource | undefined;
  const events: InventoryEvent[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'casa-inv-'));
    reg = new WorkloadRegistry({ nodeName: 'node-a', coalesceMs: 5 });
    events.length = 0;
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  function start(opts: { rescanMs?: number } = {}): Promise<void> {
    source = new FileSource({
      dir,
      debounceMs: 20,
      rescanMs: opts.rescanMs ?? 0,
      sink: {
        apply: (e) => {
          events.push(e);
          reg.apply(e);
        },
      },
    });
    return source.start();
  }

  it('reads a folder of ordinary multi-document YAML, List included, and is synced after the first scan', async () => {
    await writeFile(join(dir, '00-namespace.yaml'), stringify(namespace('travel')));
    await writeFile(join(dir, 'mas.yml'), stringify(trip));
    await writeFile(
      join(dir, 'pods.yaml'),
      yamlDocs(
        pod({ name: 'planner', ip: '10.0.0.1' }),
        pod({ name: 'flights-mcp', ip: '10.0.0.2', node: 'node-b' }),
      ),
    );
    await writeFile(
      join(dir, 'secrets.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [secret('travel', 'planner-oauth2-credentials', { clientId: 'i', clientSecret: 's' })],
      }),
    );
    await writeFile(join(dir, 'notes.txt'), 'not a manifest');
    await start();
    assert.equal(source?.synced, true);
    assert.equal(reg.podByIp('10.0.0.1')?.app.name, 'planner');
    assert.equal(reg.resolveDestination('10.0.0.2', undefined)?.app.name, 'flights');
    assert.deepEqual(
      reg.localWorkloads().map((w) => w.podName),
      ['planner'],
    );
    const planner = reg.appByHost('planner.travel');
    assert.equal(planner && reg.credentials(planner)?.clientSecret, 's');
    assert.deepEqual(
      events.map((e) => e.type),
      ['add', 'add', 'add', 'add', 'add'],
    );
    assert.equal(source?.status().objects, 5);
  });

  it('picks up edits, new files and deleted files, one event per object key changed', async () => {
    await writeFile(join(dir, 'base.yaml'), yamlDocs(namespace('travel'), trip));
    await writeFile(join(dir, 'pods.yaml'), stringify(pod({ name: 'planner', uid: 'u1', ip: '10.0.0.1' })));
    await start();
    let changes = 0;
    reg.onChange(() => changes++);
    events.length = 0;

    await writeFile(join(dir, 'pods.yaml'), stringify(pod({ name: 'planner', uid: 'u2', ip: '10.0.0.9' })));
    await waitFor('the new pod IP', () => reg.podByIp('10.0.0.9') !== undefined);
    assert.equal(reg.podByIp('10.0.0.1'), undefined);
    assert.deepEqual(
      events.map((e) => [e.type, e.type !== 'problem' && e.object.key]),
      [['update', 'travel/planner']],
    );

    await writeFile(join(dir, 'more.yaml'), stringify(pod({ name: 'flights-mcp', ip: '10.0.0.3' })));
    await waitFor('the added file', () => reg.podByIp('10.0.0.3') !== undefined);

    await unlink(join(dir, 'more.yaml'));
    await waitFor('the deleted file', () => reg.podByIp('10.0.0.3') === undefined);
    await waitFor('a coalesced notification', () => changes > 0);
  });

  it('a broken file is reported and its last good objects stay until it is fixed', async () => {
    await writeFile(join(dir, 'base.yaml'), yamlDocs(namespace('travel'), trip));
    await writeFile(join(dir, 'pods.yaml'), stringify(pod({ name: 'planner', ip: '10.0.0.1' })));
    await start();
    await writeFile(join(dir, 'base.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: [unclosed\n');
    await waitFor('the problem', () => reg.problems().some((p) => p.ref === join(dir, 'base.yaml')));
    const problem = reg.problems().find((p) => p.ref === join(dir, 'base.yaml'));
    assert.match(
      problem?.message ?? '',
      /base\.yaml document 1: not valid YAML: .*; keeping its last good objects/,
    );
    assert.equal(reg.podByIp('10.0.0.1')?.app.name, 'planner', 'namespace and MAS kept');
    await writeFile(join(dir, 'base.yaml'), yamlDocs(namespace('travel'), trip));
    await waitFor('the problem cleared', () => reg.problems().length === 0);
  });

  it('an object that fails validation keeps its last good state; the file’s other objects still update', async () => {
    await writeFile(
      join(dir, 'base.yaml'),
      yamlDocs(namespace('travel'), trip, pod({ name: 'planner', ip: '10.0.0.1' })),
    );
    await start();
    const bad = mas('travel', 'trip', [{ name: 'planner', type: 'robot' }]);
    await writeFile(
      join(dir, 'base.yaml'),
      yamlDocs(namespace('travel'), bad, pod({ name: 'planner', ip: '10.0.0.2' })),
    );
    await waitFor('the pod update', () => reg.podByIp('10.0.0.2') !== undefined);
    assert.equal(reg.podByIp('10.0.0.2')?.app.type, 'agent', 'the MAS keeps its last good state');
    const p = reg.problems().find((x) => x.ref === 'MultiAgentSystem travel/trip');
    assert.match(
      p?.message ?? '',
      /base\.yaml document 2: MultiAgentSystem travel\/trip: spec\.apps\[0\]\.type: expected agent, mcp_server or client, got "robot"/,
    );
  });

  it('the same object in two files: the later file (by name) wins, and it is reported', async () => {
    await writeFile(
      join(dir, 'a.yaml'),
      yamlDocs(namespace('travel'), trip, pod({ name: 'planner', ip: '10.0.0.1' })),
    );
    await writeFile(join(dir, 'b.yaml'), stringify(pod({ name: 'planner', ip: '10.0.0.2' })));
    await start();
    assert.equal(reg.podByIp('10.0.0.2')?.podName, 'planner');
    assert.equal(reg.podByIp('10.0.0.1'), undefined);
    assert.ok(reg.problems().some((p) => p.ref === 'duplicate Pod travel/planner'));
    // Rescanning an unchanged folder is silent: no flapping between the two copies.
    const v = reg.version;
    await source?.rescan();
    assert.equal(reg.version, v);
  });

  it('an atomic replace (write temp + rename, as kubectl cp / ConfigMap volumes do) is picked up', async () => {
    await writeFile(
      join(dir, 'base.yaml'),
      yamlDocs(namespace('travel'), trip, pod({ name: 'planner', ip: '10.0.0.1' })),
    );
    await start();
    await writeFile(
      join(dir, '.tmp-base'),
      yamlDocs(namespace('travel'), trip, pod({ name: 'planner', ip: '10.0.0.5' })),
    );
    await rename(join(dir, '.tmp-base'), join(dir, 'base.yaml'));
    await waitFor('the renamed file', () => reg.podByIp('10.0.0.5') !== undefined);
  });

  it('a missing folder is a problem, not an empty inventory; the periodic rescan finds it later', async () => {
    await rm(dir, { recursive: true });
    await start({ rescanMs: 30 });
    assert.equal(source?.synced, true);
    assert.match(reg.problems()[0]?.message ?? '', /cannot read folder/);
    await mkdir(dir);
    await writeFile(
      join(dir, 'base.yaml'),
      yamlDocs(namespace('travel'), trip, pod({ name: 'planner', ip: '10.0.0.1' })),
    );
    await waitFor('the folder appearing', () => reg.podByIp('10.0.0.1') !== undefined);
    assert.deepEqual(reg.problems(), []);
  });
});
