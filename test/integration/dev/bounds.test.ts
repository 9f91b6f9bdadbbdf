// The dev world remembers data-plane requests and their decisions for the demo
// and the console; both are bounded, oldest dropped first.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/agent/config/load.js';
import { DevWorld } from '../../../src/agent/dev/dev-world.js';
import { createLogger } from '../../../src/agent/log.js';

describe('dev world memory is bounded', () => {
  let world: DevWorld;
  before(async () => {
    const config = loadConfig({ flags: { logLevel: 'silent', drainTimeout: '100ms' }, env: {} });
    world = await DevWorld.start({ config, log: createLogger('silent'), portBase: 0, remember: 3 });
    await world.ready();
  });
  after(async () => {
    await world?.stop();
  });

  it('keeps the newest requests and decisions only', async () => {
    for (let i = 0; i < 6; i++) {
      // No token and not MCP/A2A: denied by the gate, no runtime call — cheap and deterministic.
      const r = await fetch(`${world.urls.plannerIngress}/admin/${i}`);
      assert.equal(r.status, 403);
      await r.arrayBuffer();
    }
    assert.equal(world.exchanges.length, 3);
    assert.deepEqual(
      world.exchanges.map((e) => e.path),
      ['/admin/3', '/admin/4', '/admin/5'],
    );
    const newest = world.exchanges.at(-1)?.streamId ?? '';
    assert.equal(world.decisionFor(newest)?.reason, 'protocol_violation');
    // Six decisions were seen; the oldest three are gone.
    const remembered = ['0', '1', '2', '3', '4', '5', '6', '7']
      .map((id) => world.decisionFor(id))
      .filter((d) => d !== undefined);
    assert.equal(remembered.length, 3);
  });
});
