// `casa-agent diag` as an operator runs it: the built CLI in a child process
// against a running agent (the real NodeAgent on the file inventory, the
// reference runtime, real Checks over gRPC) prints a readable summary —
// workloads, caches, runtime health, recent denies — and never a token value;
// with no agent listening it says so and exits non-zero.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { packageRoot } from '../../../src/agent/paths.js';
import { freePort } from '../../harness/processes.js';
import { HOST, IP, newTraceId, startWorld, traceparent, type World } from '../../support/casa-world.js';

const distMain = join(packageRoot(), process.env.CASA_DIST ?? 'dist', 'src/agent/cli/main.js');

function diag(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [distMain, 'diag', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A bearer token the agent is sent but must never print (not issued by the runtime: denied). */
const FORGED = 'eyJhbGciOiJub25lIn0.forged-token-value-7f3a9c.sig';

describe('casa-agent diag', () => {
  let w: World;
  let url: string;
  /** The T1 the agent obtained for the web client and injected towards the planner. */
  let issued: string;

  before(async () => {
    w = await startWorld();
    url = `http://${w.agent.state().listen.diag}`;
    for (let i = 0; i < 100; i++) {
      const res = await request(`${url}/readyz`);
      await res.body.text();
      if (res.statusCode === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const allowed = await w.check(IP.web, IP.planner, {
      path: '/',
      host: HOST.planner,
      headers: { traceparent: traceparent(newTraceId()), 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Plan a trip to Lisbon' }),
    });
    assert.equal(allowed.allowed, true, allowed.body);
    issued = (allowed.headersSet.authorization ?? '').replace(/^Bearer /, '');
    assert.ok(issued.length > 20, 'setup: the agent injected a token');
    const denied = await w.check(IP.outside, IP.files, {
      path: '/mcp',
      host: HOST.files,
      headers: {
        traceparent: traceparent(newTraceId()),
        authorization: `Bearer ${FORGED}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(denied.allowed, false, 'setup: a forged token is denied');
  });
  after(async () => {
    await w?.stop();
  });

  it('prints readiness, workloads, caches, runtime health and recent denies', async () => {
    const r = await diag(['--url', url]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^casa-agent \S+ at http:\/\/127\.0\.0\.1:\d+ on node node-a: READY$/m);
    assert.match(out, /data plane {3}cilium/);
    assert.match(out, /inventory {4}file, synced; 4 workload\(s\) on this node/);
    for (const [app, type] of [
      ['web', 'client'],
      ['planner', 'agent'],
      ['helper', 'agent'],
      ['files', 'mcp_server'],
    ]) {
      const ip = IP[app as keyof typeof IP].replace(/\./g, '\\.');
      assert.match(out, new RegExp(`travel/${app}-0 ${ip} → travel/travel/${app} \\(${type}\\)$`, 'm'));
    }
    assert.match(out, /runtime {6}casa http:\/\/127\.0\.0\.1:\d+: reachable, last ok /);
    assert.match(out, /cache {8}introspection: \d+ entries/);
    assert.match(out, /cache {8}exchange: \d+ entries/);
    assert.match(out, /cache {8}traces: [1-9]\d* entries/, 'the planner’s trace token is remembered');
    assert.match(out, /checks {7}1 allowed, 1 denied, 0 in flight/);
    // The forged token was denied as inactive: reason, request and both sides, never the token.
    assert.match(
      out,
      /recent denies:\n {4}\S+Z inactive_token POST files\.travel:8000\/mcp - → travel\/travel\/files \(mcp_server, travel\/files-0\): /,
    );
    assert.doesNotMatch(out, /apply {8}/, 'no apply line when applyClusterObjects is off');
  });

  it('never prints a token value, neither in the summary nor with --json', async () => {
    for (const args of [
      ['--url', url],
      ['--url', url, '--json'],
    ]) {
      const r = await diag(args);
      assert.equal(r.code, 0, r.stderr);
      for (const secret of [issued, FORGED, 'forged-token-value-7f3a9c']) {
        assert.ok(!r.stdout.includes(secret), `${args.join(' ')}: a token value in the output`);
        assert.ok(!r.stderr.includes(secret));
      }
    }
    // The same run with --json is the machine form of the summary: the denies are there.
    const json = JSON.parse((await diag(['--url', url, '--json'])).stdout) as {
      denies: { decisions: { reason: string }[] };
    };
    assert.ok(json.denies.decisions.length >= 1);
  });

  it('with no agent listening: a clear error naming the address, exit 1, nothing on stdout', async () => {
    const port = await freePort();
    const r = await diag(['--url', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      new RegExp(`^casa-agent diag: cannot reach http://127\\.0\\.0\\.1:${port}: .+`, 'm'),
    );
  });
});
