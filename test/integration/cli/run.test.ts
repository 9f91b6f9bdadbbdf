// `casa-agent run` as an operator starts it: a real child process on the file
// inventory against the reference runtime; bad configuration exits 2 naming
// the field; SIGTERM drains and exits 0.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { ReferenceRuntime } from '../../../src/agent/dev/runtime/index.js';
import { packageRoot } from '../../../src/agent/paths.js';

// The CLI of the same build the tests run from (CASA_DIST for parallel builds).
const distMain = join(packageRoot(), process.env.CASA_DIST ?? 'dist', 'src/agent/cli/main.js');

function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [distMain, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('casa-agent CLI', () => {
  it('--help lists the subcommands', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['run', 'dev', 'render', 'diag']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  });

  it('run --help lists flags with their CASA_* variables and defaults', async () => {
    const r = await runCli(['run', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--runtime-url/);
    assert.match(r.stdout, /CASA_RUNTIME_URL/);
    assert.match(r.stdout, /default: 127\.0\.0\.1:9191/);
  });

  const bad: [string, string[], Record<string, string>, RegExp][] = [
    ['an unknown command', ['launch'], {}, /unknown command "launch"/],
    ['an unknown flag', ['run', '--no-such-flag', 'x'], {}, /no-such-flag/],
    ['a bad listen address', ['run', '--authz-listen', 'localhost'], {}, /authzListen/],
    [
      'a bad duration from the environment',
      ['run'],
      { CASA_RUNTIME_TIMEOUT: 'soon' },
      /runtimeTimeout.*CASA_RUNTIME_TIMEOUT/,
    ],
    ['a missing node name', ['run', '--runtime-url', 'http://127.0.0.1:1'], {}, /nodeName/],
    ['a missing runtime URL', ['run', '--inventory', 'file', '--manifests', '/tmp'], {}, /runtimeUrl/],
    ['an enum out of range', ['run', '--runtime-profile', 'keycloak'], {}, /runtimeProfile.*casa, rfc/],
    [
      'in-cluster apply without a cluster',
      ['run', '--inventory=file', '--manifests=/tmp', '--node-name=n', '--runtime-url=http://127.0.0.1:1'],
      { CASA_APPLY_CLUSTER_OBJECTS: 'true' },
      /applyClusterObjects: needs --inventory kubernetes/,
    ],
  ];
  for (const [name, args, env, pattern] of bad) {
    it(`exits 2 naming the field for ${name}`, async () => {
      const r = await runCli(args, env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
    });
  }

  it('a config file with an unknown key exits 2 naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'casa-cfg-'));
    try {
      writeFileSync(join(dir, 'c.yaml'), 'runtimeUrl: http://127.0.0.1:1\nauthzListn: 127.0.0.1:1\n');
      const r = await runCli(['run', '--config', join(dir, 'c.yaml')]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /authzListn: unknown key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('casa-agent run lifecycle', () => {
  let runtime: ReferenceRuntime;
  let dir: string;
  let child: ChildProcess | undefined;
  before(async () => {
    runtime = await ReferenceRuntime.start();
    dir = mkdtempSync(join(tmpdir(), 'casa-run-'));
    writeFileSync(
      join(dir, 'ns.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n  labels:\n    casa.io/injection: enabled\n',
    );
  });
  after(async () => {
    child?.kill('SIGKILL');
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('becomes ready, serves diagnostics, and exits 0 on SIGTERM', async () => {
    const diagPort = 19000 + Math.floor(Math.random() * 2000);
    child = spawn(
      process.execPath,
      [
        distMain,
        'run',
        '--inventory=file',
        `--manifests=${dir}`,
        '--node-name=node-a',
        `--runtime-url=${runtime.url}`,
        '--authz-listen=127.0.0.1:0',
        '--xds-listen=127.0.0.1:0',
        `--diag-listen=127.0.0.1:${diagPort}`,
        '--drain-timeout=200ms',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let logs = '';
    child.stderr?.on('data', (d) => (logs += d));
    const exited = new Promise<number | null>((r) => child?.on('exit', (code) => r(code)));
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const res = await request(`http://127.0.0.1:${diagPort}/readyz`);
        ready = res.statusCode === 200;
        await res.body.text();
      } catch {
        // not listening yet
      }
    }
    assert.ok(ready, `agent never became ready:\n${logs}`);
    const state = await request(`http://127.0.0.1:${diagPort}/debug/state`);
    const body = (await state.body.json()) as { node: string; inventory: { synced: boolean } };
    assert.equal(body.node, 'node-a');
    assert.equal(body.inventory.synced, true);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, logs);
    assert.match(logs, /draining in-flight checks/);
    child = undefined;
  });
});
