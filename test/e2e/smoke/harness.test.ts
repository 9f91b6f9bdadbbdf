// The harness rules the e2e suites rely on: a missing peer is a visible skip
// off CI and a failure in CI, paths are those of scripts/peers.sh, and peer
// processes never outlive the test process, even one killed with SIGKILL.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PEER_NAMES, peerPaths, requirePeer, requirePeers } from '../../harness/peers.js';
import { ProcessGroup } from '../../harness/processes.js';

const nowhere = '/nonexistent/casa-peers';

describe('peer lookup', () => {
  it('uses the layout scripts/peers.sh prints, under CASA_PEERS_DIR', () => {
    const paths = peerPaths({ ...process.env, CASA_PEERS_DIR: nowhere });
    for (const name of PEER_NAMES) {
      assert.ok(paths[name].startsWith(`${nowhere}/${name}-`), paths[name]);
      assert.ok(paths[name].endsWith(`/${name}`), paths[name]);
    }
  });

  it('a missing peer is a skip reason naming it and the fix, off CI', () => {
    for (const ci of [undefined, '', 'false', '0']) {
      const r = requirePeer('helm', { ...process.env, CASA_PEERS_DIR: nowhere, CI: ci });
      assert.match(
        r.skip ?? '',
        /^missing test peer helm \(\/nonexistent\/casa-peers\/helm-.*scripts\/peers\.sh$/,
      );
    }
  });

  it('a missing peer fails in CI', () => {
    for (const ci of ['true', '1', 'yes']) {
      assert.throws(
        () => requirePeers(['etcd', 'kube-apiserver'], { ...process.env, CASA_PEERS_DIR: nowhere, CI: ci }),
        /CI=true and missing test peers etcd .*, kube-apiserver /,
      );
    }
  });

  it('CASA_PEER_<NAME> points at another binary', () => {
    const env = { ...process.env, CASA_PEERS_DIR: nowhere, CASA_PEER_GHZ: process.execPath, CI: 'true' };
    assert.deepEqual(requirePeer('ghz', env), { path: process.execPath, skip: undefined });
  });
});

/** Dead: gone, or a zombie nobody reaped yet (its parent was killed). */
function dead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function eventually(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: still not true after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A child that starts its own background process; resolves with both pids. */
function startTree(group: ProcessGroup): Promise<{ child: ChildProcess; grandchild: number }> {
  const child = group.spawn('tree', 'bash', ['-c', 'sleep 300 & echo $!; wait']);
  return new Promise((resolve) => {
    child.stdout?.once('data', (b: Buffer) => resolve({ child, grandchild: Number(b.toString().trim()) }));
  });
}

describe('peer processes never outlive the tests', {
  skip: !existsSync('/proc/self/stat') && 'needs /proc',
}, () => {
  it('close() stops each process group, grandchildren included, and removes the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'casa-harness-'));
    const group = new ProcessGroup(dir);
    const { child, grandchild } = await startTree(group);
    assert.ok(!dead(grandchild));
    await group.close();
    assert.ok(child.pid !== undefined && dead(child.pid));
    await eventually('grandchild gone', () => dead(grandchild));
    assert.equal(existsSync(dir), false);
  });

  it('a test process killed with SIGKILL leaves no process and no folder behind (watchdog)', async () => {
    const processes = fileURLToPath(new URL('../../harness/processes.js', import.meta.url));
    const script = `
      const { ProcessGroup } = await import(${JSON.stringify(processes)});
      const { mkdtempSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const group = new ProcessGroup(mkdtempSync(join(tmpdir(), 'casa-harness-')));
      const child = group.spawn('tree', 'bash', ['-c', 'sleep 300 & echo $!; wait']);
      child.stdout.once('data', (b) => console.log(JSON.stringify({ dir: group.dir, child: child.pid, grandchild: Number(String(b).trim()) })));
      setInterval(() => {}, 1000);
    `;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const started = await new Promise<{ dir: string; child: number; grandchild: number }>((resolve) => {
      owner.stdout.once('data', (b: Buffer) => resolve(JSON.parse(b.toString())));
    });
    assert.ok(existsSync(started.dir) && !dead(started.child) && !dead(started.grandchild));
    owner.kill('SIGKILL');
    await eventually('child gone', () => dead(started.child));
    await eventually('grandchild gone', () => dead(started.grandchild));
    await eventually('folder removed', () => !existsSync(started.dir));
  });
});
