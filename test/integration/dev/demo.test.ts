// Issue 7's end-to-end flow, as `npm run demo` runs it: the official A2A and
// MCP SDKs as traffic sources, through the development data plane, decided by
// the real NodeAgent against the reference runtime. Every decision and the
// runtime call counts of each step are asserted here, independently of the
// demo's own verdicts; the 30 s cache expiry is reached by moving the dev
// clock (agent and runtime), never by sleeping.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/agent/config/load.js';
import { type DemoStep, PROMPTS, runDemo } from '../../../src/agent/dev/demo.js';
import { DevClock, DevWorld } from '../../../src/agent/dev/dev-world.js';
import { TOOLS } from '../../../src/agent/dev/example-mas.js';
import { createLogger } from '../../../src/agent/log.js';

const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;

describe('dev demo end to end: web → planner → flights with the SDK clients', () => {
  let world: DevWorld;
  let steps: DemoStep[];
  const printed: string[] = [];
  const clock = new DevClock();

  before(async () => {
    const config = loadConfig({ flags: { logLevel: 'silent', drainTimeout: '100ms' }, env: {} });
    world = await DevWorld.start({ config, log: createLogger('silent'), portBase: 0, clock });
    await world.ready();
    steps = await runDemo(world, { write: (l) => printed.push(l) });
  });
  after(async () => {
    await world?.stop();
  });

  const step = (n: number) => {
    const s = steps.find((x) => x.n === n);
    assert.ok(s, `step ${n} ran`);
    return s;
  };

  it('runs seven steps, each as specified', () => {
    assert.deepEqual(
      steps.map((s) => [s.n, s.ok]),
      [1, 2, 3, 4, 5, 6, 7].map((n) => [n, true]),
    );
  });

  it('1: the prompt gets a T1 for web, exchanged for planner and checked inbound in one Check', () => {
    const s = step(1);
    const [h] = s.hops;
    assert.ok(h);
    assert.equal(h.event.source, 'web');
    assert.equal(h.event.destination, 'planner');
    assert.equal(h.event.status, 200);
    assert.deepEqual(
      { ...h.decision },
      {
        decision: 'allow',
        direction: 'both',
        // load-token (shared trace cache), token (T1), store-token (web), exchange, introspect, store-token (planner)
        runtimeCalls: 6,
        cache: 'trace:miss,exchange:miss,introspection:miss',
        protocol: 'a2a',
        mcpMethod: undefined,
        tool: undefined,
        a2aMethod: 'SendMessage',
      },
    );
    const auth = h.event.injected.find((i) => i.name === 'authorization')?.token;
    assert.ok(auth, 'a token was injected');
    assert.equal(auth.tools, undefined);
    assert.deepEqual(auth.actors, ['planner']);
    assert.equal(auth.appId, 'planner');
    // The whole first prompt: one T1; exchanges and introspections for planner (A2A) and
    // flights (MCP session token, search_flights, book_flight).
    assert.deepEqual(s.runtimeCalls, {
      token: 1,
      token_exchange: 4,
      introspect: 4,
      store_token: 2,
      load_token: 1,
    });
    assert.equal(s.answer?.state, 'completed');
  });

  it('2–3: each tools/call gets its own T3 naming exactly that tool; the MCP server’s inbound check passes', () => {
    const hops = step(3).hops;
    assert.deepEqual(
      hops.map((h) => [
        h.decision?.tool,
        h.event.status,
        h.decision?.decision,
        h.decision?.direction,
        h.decision?.cache,
      ]),
      [
        [TOOLS.search, 200, 'allow', 'both', 'trace:local,exchange:miss,introspection:miss'],
        [TOOLS.book, 200, 'allow', 'both', 'trace:local,exchange:miss,introspection:miss'],
      ],
    );
    for (const h of hops) {
      const t3 = h.event.injected.find((i) => i.name === 'authorization')?.token;
      assert.deepEqual(t3?.tools, [h.decision?.tool]);
      assert.ok(t3?.scope?.split(' ').includes('call-tools'));
      assert.deepEqual(t3?.actors, ['flights', 'planner']);
      assert.equal(h.decision?.runtimeCalls, 2, 'one exchange, one introspection');
    }
    assert.equal(step(2).hops[0]?.decision?.tool, TOOLS.search);
    assert.deepEqual([...world.flights.bookings.keys()], ['BK-1'], 'book_flight ran once');
  });

  it('4: the tool outside the token is refused at the MCP server’s inbound check, and never runs', () => {
    const s = step(4);
    const [h] = s.hops;
    assert.equal(h?.decision?.tool, TOOLS.cancel);
    assert.equal(h?.event.status, 403);
    assert.equal(h?.decision?.decision, 'deny');
    assert.equal(h?.decision?.reason, 'inactive_token');
    const t = h?.event.injected.find((i) => i.name === 'authorization')?.token;
    assert.equal(t, undefined, 'a denied request gets no header mutation');
    assert.deepEqual(s.runtimeCalls, { token_exchange: 1, introspect: 1 });
    assert.equal(s.answer?.state, 'failed');
    assert.deepEqual([...world.flights.bookings.keys()], ['BK-1'], 'delete_booking never reached the server');
  });

  it('5: a non-MCP request to the MCP server is denied by the gate with zero runtime calls', () => {
    const s = step(5);
    assert.equal(s.hops.length, 1);
    const [h] = s.hops;
    assert.equal(h?.event.path, '/admin/bookings');
    assert.equal(h?.event.status, 403);
    assert.equal(h?.decision?.reason, 'protocol_violation');
    assert.equal(h?.decision?.runtimeCalls, 0);
    assert.deepEqual(s.runtimeCalls, {});
  });

  it('6: runtime stopped — the same trace is served from the caches, every Check allowed', () => {
    const s = step(6);
    assert.equal(s.answer?.state, 'completed');
    // The SDK opens its GET stream concurrently with the next POST: compare as sorted rows.
    const rows = (xs: readonly (readonly unknown[])[]) => xs.map((x) => x.join(' ')).sort();
    const hit = ['allow', 'trace:local,exchange:hit,introspection:hit'];
    assert.deepEqual(
      rows(
        s.hops.map((h) => [
          h.event.source,
          h.event.destination,
          h.event.method,
          h.decision?.decision,
          h.decision?.cache,
        ]),
      ),
      rows([
        ['web', 'planner', 'POST', ...hit],
        ['planner', 'flights', 'POST', ...hit],
        ['planner', 'flights', 'POST', ...hit],
        ['planner', 'flights', 'GET', ...hit],
        ['planner', 'flights', 'POST', ...hit],
        ['planner', 'flights', 'DELETE', ...hit],
      ]),
    );
    assert.deepEqual(s.runtimeCalls, {});
  });

  it('7: 31 s later (dev clock) the cache has expired and the runtime is down: denied, fail closed', () => {
    const s = step(7);
    assert.equal(s.answer?.state, 'error');
    assert.deepEqual(
      s.hops.map((h) => [h.event.source, h.event.destination, h.event.status, h.decision?.reason]),
      [['web', 'planner', 403, 'runtime_unavailable']],
    );
    assert.equal(clock.offset, 31_000);
    assert.equal(world.runtime.running, true, 'the demo starts the runtime again');
  });

  it('the agent’s own decision log agrees (/debug/decisions)', async () => {
    const res = await fetch(`${world.urls.diag}/debug/decisions`);
    const body = (await res.json()) as { decisions: { decision: string; reason?: string }[] };
    const reasons = body.decisions.filter((d) => d.decision === 'deny').map((d) => d.reason);
    assert.deepEqual(reasons.sort(), ['inactive_token', 'protocol_violation', 'runtime_unavailable']);
    const checks = world.exchanges.length;
    assert.equal(body.decisions.length, checks, 'one Check per data-plane request');
  });

  it('prints the steps readably and never a token value', () => {
    const text = printed.join('\n');
    for (const n of [1, 2, 3, 4, 5, 6, 7]) assert.match(text, new RegExp(`^${n}\\. `, 'm'));
    assert.match(text, /development data plane \(not the production data plane\)/);
    assert.match(text, /injected authorization: Bearer ‹sha256:[0-9a-f]{12}›/);
    assert.match(text, /dev clock was moved forward 31 s/);
    assert.ok(text.includes(PROMPTS.book));
    assert.doesNotMatch(text, JWT);
  });
});
