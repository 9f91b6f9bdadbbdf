// The ext_authz transport over real gRPC: request parsing, deny mapping of
// every transport-level failure, deadlines, health, and graceful drain.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { Authorizer, CheckOutcome } from '../../../src/agent/authz/authorizer-port.js';
import { AuthzServer } from '../../../src/agent/authz/authz-server.js';
import type { CheckInput } from '../../../src/agent/authz/check-request.js';
import { AuthzClient } from '../../support/authz-client.js';

type Behaviour = (input: CheckInput, signal: AbortSignal) => Promise<CheckOutcome>;

const allowAll: Behaviour = async () => ({
  decision: {
    kind: 'allow',
    headersToSet: [{ key: 'x-seen', value: '1', overwrite: true }],
    headersToRemove: ['authorization'],
  },
  direction: 'inbound',
  runtimeCalls: 0,
});

describe('ext_authz transport', () => {
  let behaviour: Behaviour = allowAll;
  let lastInput: CheckInput | undefined;
  const authorizer: Authorizer = {
    authorize: (input, signal) => {
      lastInput = input;
      return behaviour(input, signal);
    },
  };
  const server = new AuthzServer({ authorizer, defaultTimeoutMs: 2000, deadlineMarginMs: 20 });
  let client: AuthzClient;
  let target: string;

  before(async () => {
    const at = await server.listen({ host: '127.0.0.1', port: 0 });
    target = `127.0.0.1:${at.port}`;
    client = new AuthzClient(target);
  });
  after(async () => {
    client.close();
    await server.shutdown(100);
  });

  it('maps an allow to ok_response with header mutations', async () => {
    behaviour = allowAll;
    const r = await client.check({ path: '/mcp', host: 'svc', headers: { authorization: 'Bearer x' } });
    assert.equal(r.allowed, true);
    assert.equal(r.headersSet['x-seen'], '1');
    assert.deepEqual(r.headersToRemove, ['authorization']);
  });

  it('reads body as UTF-8 string and raw_body as bytes, and the partial-body flag', async () => {
    behaviour = allowAll;
    await client.check({ path: '/mcp', host: 'h', body: '{"a":1}' });
    assert.equal(Buffer.from(lastInput?.body?.data ?? []).toString(), '{"a":1}');
    assert.equal(lastInput?.body?.truncated, false);
    await client.check({
      path: '/mcp',
      host: 'h',
      body: Buffer.from([0x7b, 0xff, 0x7d]),
      raw: true,
      partial: true,
    });
    assert.deepEqual([...(lastInput?.body?.data ?? [])], [0x7b, 0xff, 0x7d]);
    assert.equal(lastInput?.body?.truncated, true);
    await client.check({ method: 'GET', path: '/sse', host: 'h' });
    assert.equal(lastInput?.body, undefined);
  });

  it('reads source and destination socket addresses', async () => {
    behaviour = allowAll;
    await client.check({
      path: '/',
      host: 'h',
      source: { ip: '10.0.0.7', port: 4000 },
      destination: { ip: '::ffff:10.0.1.9', port: 80 },
    });
    assert.deepEqual(lastInput?.source, { ip: '10.0.0.7', port: 4000 });
    assert.deepEqual(lastInput?.destination, { ip: '10.0.1.9', port: 80 });
  });

  it('denies a CheckRequest without http attributes (body_invalid), never calling the authorizer', async () => {
    lastInput = undefined;
    const r = await client.checkRaw({ attributes: {} });
    assert.equal(r.allowed, false);
    assert.equal(r.httpStatus, 403);
    assert.equal(r.reason, 'body_invalid');
    assert.equal(lastInput, undefined);
  });

  it('denies with internal_error when the authorizer throws', async () => {
    behaviour = async () => {
      throw new Error('boom');
    };
    const r = await client.check({ path: '/mcp', host: 'h' });
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'internal_error');
    assert.ok(!r.body?.includes('boom'));
  });

  it('denies with deadline_exceeded before the caller deadline and aborts the authorizer', async () => {
    let aborted = false;
    behaviour = (_i, signal) =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = true;
        });
        setTimeout(
          () =>
            resolve({
              decision: { kind: 'allow', headersToSet: [], headersToRemove: [] },
              direction: 'none',
              runtimeCalls: 0,
            }),
          1500,
        );
      });
    // Its own server with a wide margin: the deny must beat the caller's deadline even
    // when a loaded machine delays the timer (a 20 ms margin lost that race under load).
    const slow = new AuthzServer({ authorizer, defaultTimeoutMs: 2000, deadlineMarginMs: 400 });
    const at = await slow.listen({ host: '127.0.0.1', port: 0 });
    const slowClient = new AuthzClient(`127.0.0.1:${at.port}`);
    try {
      const r = await slowClient.check({ path: '/mcp', host: 'h' }, 1000);
      assert.equal(r.allowed, false);
      assert.equal(r.reason, 'deadline_exceeded');
      assert.equal(aborted, true);
    } finally {
      slowClient.close();
      await slow.shutdown(100);
    }
  });

  it('serves grpc.health.v1 as SERVING', async () => {
    const { service } = await import('grpc-health-check');
    const Health = grpc.makeGenericClientConstructor(service as unknown as grpc.ServiceDefinition, 'Health');
    const h = new Health(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      check: (req: { service: string }, cb: (e: Error | null, r: { status: string }) => void) => void;
    };
    const status = await new Promise<string>((res, rej) =>
      h.check({ service: 'envoy.service.auth.v3.Authorization' }, (e, r) => (e ? rej(e) : res(r.status))),
    );
    h.close();
    assert.equal(status, 'SERVING');
  });
});

describe('ext_authz graceful drain', () => {
  it('lets an in-flight Check finish, then refuses new ones', async () => {
    let release: (() => void) | undefined;
    const server = new AuthzServer({
      defaultTimeoutMs: 5000,
      authorizer: {
        authorize: () =>
          new Promise((resolve) => {
            release = () =>
              resolve({
                decision: { kind: 'allow', headersToSet: [], headersToRemove: [] },
                direction: 'none',
                runtimeCalls: 0,
              });
          }),
      },
    });
    const at = await server.listen({ host: '127.0.0.1', port: 0 });
    const client = new AuthzClient(`127.0.0.1:${at.port}`);
    const pending = client.check({ path: '/', host: 'h' });
    while (server.checksInFlight === 0) await new Promise((r) => setTimeout(r, 5));
    const stopping = server.shutdown(2000);
    release?.();
    const r = await pending;
    await stopping;
    client.close();
    assert.equal(r.allowed, true);
    assert.equal(server.checksInFlight, 0);
  });
});
