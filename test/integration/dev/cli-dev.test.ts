// `casa-agent dev` as a newcomer runs it (`npm start`): a real child process
// that prints where each part listens, runs the demo on Enter, and on SIGINT
// stops everything, exits 0 and leaves no listener behind.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../../src/agent/paths.js';

const distMain = join(packageRoot(), process.env.CASA_DIST ?? 'dist', 'src/agent/cli/main.js');

function waitFor(child: ChildProcessWithoutNullStreams, out: { text: string }, pattern: RegExp, ms: number) {
  return new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.stdout.off('data', check);
      reject(new Error(`timed out waiting for ${pattern}; stdout so far:\n${out.text}`));
    }, ms);
    const check = () => {
      const m = out.text.match(pattern);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve(m);
      }
    };
    child.stdout.on('data', check);
    check();
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('casa-agent dev (npm start)', () => {
  it('prints its listeners, runs the demo on Enter, and SIGINT stops everything with exit 0', async () => {
    const child = spawn(process.execPath, [distMain, 'dev', '--port-base', '0', '--log-level', 'warn']);
    const out = { text: '' };
    let stderr = '';
    child.stdout.on('data', (d) => (out.text += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(child, out, /Run the demo: press Enter here, or "npm run demo"/, 20_000);
      assert.match(out.text, /development data plane \(not the production data plane\)/);
      const ports = [...out.text.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      assert.ok(ports.length >= 9, `listeners printed: ${ports.join(', ')}`);
      const diag = out.text.match(/diagnostics (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
      assert.ok(diag);
      assert.equal((await fetch(`${diag}/readyz`)).status, 200);

      child.stdin.write('\n');
      await waitFor(child, out, /Every step behaved as CASA specifies/, 30_000);
      for (const n of [1, 2, 3, 4, 5, 6, 7]) assert.match(out.text, new RegExp(`^${n}\\. `, 'm'));

      child.kill('SIGINT');
      assert.equal(await exited, 0, stderr);
      assert.match(out.text, /SIGINT: stopping the dev world\nstopped\n$/);
      for (const p of new Set(ports)) assert.equal(await refused(p), true, `port ${p} still listens`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('dev --demo (npm run demo) runs the demo in its own world on free ports and exits 0', async () => {
    const child = spawn(process.execPath, [distMain, 'dev', '--demo', '--port-base', '0']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^7\. 31 s later/m);
    assert.match(stdout, /Every step behaved as CASA specifies/);
  });

  it('dev --demo --print-spans prints each decision span with its runtime calls, and no token', async () => {
    const child = spawn(process.execPath, [distMain, 'dev', '--demo', '--port-base', '0', '--print-spans']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.match(stdout, /Every step behaved as CASA specifies/);
    // Decision spans: the tool call's allow with its exchange and introspection as children.
    assert.match(stdout, /^ext_authz \S+ ALLOW .*tools\/call search_flights/m);
    assert.match(stdout, /^ {2}↳ casa exchange /m);
    assert.match(stdout, /^ {2}↳ casa introspect /m);
    // The denies the demo shows, each with its reason code, and one trace id per conversation.
    assert.match(stdout, /^ext_authz \S+ DENY .*protocol_violation/m);
    assert.match(stdout, /^ext_authz \S+ DENY .*runtime_unavailable/m);
    assert.match(stdout, /^ {2}trace [0-9a-f]{32} {2}span [0-9a-f]{16}/m);
    // Tokens are shown only as fingerprints; no JWT reaches the console.
    assert.doesNotMatch(stdout, /eyJ[\w-]+\.[\w-]+\.[\w-]+/);
  });

  it('exits 2 naming the flag for a bad --port-base', async () => {
    const child = spawn(process.execPath, [distMain, 'dev', '--port-base', 'lots']);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 2);
    assert.match(stderr, /--port-base/);
  });
});
