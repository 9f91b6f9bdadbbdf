// ghz (built by scripts/peers.sh) drives a real gRPC server: the standard
// grpc.health.v1 service, loaded with proto-loader and served by grpc-js in
// this process. ghz's JSON report must agree with what the server counted,
// and non-OK answers must show up as such (ghz can report failure).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import { requirePeer } from '../../harness/peers.js';

const ghz = requirePeer('ghz');

interface GhzReport {
  count: number;
  statusCodeDistribution?: Record<string, number>;
  latencyDistribution?: { percentage: number; latency: number }[] | null;
}

function runGhz(port: number, args: string[]): Promise<GhzReport> {
  return new Promise((resolve, reject) => {
    // Asynchronous: the server answering ghz runs in this process's event loop.
    const child = spawn(
      ghz.path,
      [
        '--insecure',
        '--proto',
        protoPath,
        '--call',
        'grpc.health.v1.Health.Check',
        '--format',
        'json',
        ...args,
        `127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`ghz exited with ${code}: ${err}${out}`));
      try {
        resolve(JSON.parse(out) as GhzReport);
      } catch (e) {
        reject(new Error(`ghz output is not JSON (${(e as Error).message}): ${out.slice(0, 300)}`));
      }
    });
  });
}

describe('ghz drives a real gRPC server', { skip: ghz.skip }, () => {
  const server = new Server();
  const calls = new Map<string, number>();
  let port = 0;

  before(async () => {
    const pkg = loadSync(protoPath, { keepCase: true });
    const health = pkg['grpc.health.v1.Health'];
    if (!health || !('Check' in health)) throw new Error('grpc.health.v1.Health not in health.proto');
    server.addService(health as never, {
      Check(call: ServerUnaryCall<{ service: string }, unknown>, callback: sendUnaryData<unknown>) {
        const name = call.request.service;
        calls.set(name, (calls.get(name) ?? 0) + 1);
        if (name === '' || name === 'casa') callback(null, { status: 'SERVING' });
        else callback({ code: status.NOT_FOUND, details: `unknown service ${name}` });
      },
      Watch() {
        throw new Error('not used');
      },
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
  });
  after(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  it('every call answered OK is counted as OK, and the server saw each one', async () => {
    const report = await runGhz(port, ['-d', '{"service":"casa"}', '-n', '300', '-c', '8']);
    assert.equal(report.count, 300);
    assert.deepEqual(report.statusCodeDistribution, { OK: 300 });
    assert.equal(calls.get('casa'), 300);
    assert.ok((report.latencyDistribution ?? []).some((d) => d.percentage === 99));
  });

  it('calls the server refuses are reported with their status code', async () => {
    const report = await runGhz(port, ['-d', '{"service":"nope"}', '-n', '50', '-c', '2']);
    assert.equal(report.count, 50);
    assert.deepEqual(report.statusCodeDistribution, { NotFound: 50 });
    assert.equal(calls.get('nope'), 50);
  });
});
