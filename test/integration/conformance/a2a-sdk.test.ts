// Issue 3: traffic recorded from the official @a2a-js/sdk 1.3 clients — the
// v1.0 Client on JSON-RPC and HTTP+JSON, and the v0.3 compat transports —
// against a real @a2a-js/sdk agent is classified as A2A with the operation
// each call is, and the gate allows it exactly where ARCHITECTURE.md §3 says
// (client → agent, agent → agent; never to an mcp_server).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  classify,
  createPolicyConfig,
  DEFAULT_PROTOCOL_PATTERNS,
  type ProtocolPatterns,
  plan,
} from '../../../src/policy/index.js';
import { type RecordedRequest, RecordingProxy, toAttributes } from '../../support/sdk-recorder.js';
import { type A2aLayout, type A2aPeer, startA2aPeer } from './a2a-peer.js';
import { A2A_FLAVORS, type A2aFlavor, generation, runA2aSession, STEP_OPS } from './a2a-session.js';
import { assertGate, endpoint, FRESH, TRACEPARENT } from './gate-check.js';

const LAYOUTS: readonly A2aLayout[] = [
  // The bindings where the policy looks by default (README "Classification").
  { name: 'default paths (JSON-RPC /a2a, REST at the root)', jsonRpcPath: '/a2a', restBase: '' },
  // Where the SDK's own samples mount them; the operator tells the policy with `protocols`.
  {
    name: 'SDK sample paths (JSON-RPC /a2a/jsonrpc, REST /a2a/rest), configured',
    jsonRpcPath: '/a2a/jsonrpc',
    restBase: '/a2a/rest',
    protocols: { a2a: { jsonRpcPaths: ['/a2a/jsonrpc'], restBasePaths: ['/a2a/rest'] } },
  },
];

function stepsOf(flavor: A2aFlavor): string[] {
  const all = ['card', ...Object.keys(STEP_OPS)];
  return generation(flavor) === '1.0' ? all : all.filter((s) => s !== 'ListTasks');
}

for (const layout of LAYOUTS) {
  const patterns: ProtocolPatterns = createPolicyConfig({ protocols: layout.protocols }).patterns;
  const settings = { protocols: layout.protocols };

  for (const flavor of A2A_FLAVORS) {
    describe(`A2A SDK ${flavor}, ${layout.name}: every request of a session is A2A`, () => {
      let proxy: RecordingProxy;
      let peer: A2aPeer;
      let recorded: readonly RecordedRequest[];
      before(async () => {
        proxy = await RecordingProxy.start();
        peer = await startA2aPeer(layout, proxy.url);
        proxy.forwardTo(peer.url);
        await runA2aSession(flavor, proxy, peer, layout);
        recorded = [...proxy.requests];
      });
      after(async () => {
        await proxy?.close();
        await peer?.close();
      });

      it('the recorder saw every step of the session, each answered with success', () => {
        assert.deepEqual([...new Set(recorded.map((r) => r.step))], stepsOf(flavor));
        for (const r of recorded)
          assert.ok((r.status ?? 0) < 300, `${r.step}: ${r.method} ${r.path} → ${r.status}`);
      });

      it('classify: A2A, the binding and generation of the client, the operation of each step', () => {
        const gen = generation(flavor);
        const binding = flavor.endsWith('JSON-RPC') ? 'jsonrpc' : 'rest';
        for (const r of recorded) {
          const what = `${r.step}: ${r.method} ${r.path}`;
          const c = classify(toAttributes(r), {}, patterns);
          assert.equal(c.protocol, 'a2a', `${what} → ${c.why} ${c.detail ?? ''}`);
          if (r.step === 'card') {
            assert.equal(c.a2a?.binding, 'card', what);
            continue;
          }
          assert.equal(c.a2a?.binding, binding, what);
          assert.equal(c.a2a?.method, STEP_OPS[r.step]?.[gen], what);
          assert.equal(c.a2a?.version, gen, what);
          assert.equal(c.a2a?.complete, true, what);
        }
      });

      it('gate: allowed client → agent and agent → agent; refused to an mcp_server and from one', () => {
        for (const r of recorded)
          assertGate(toAttributes(r), 'a2a', `${r.step}: ${r.method} ${r.path}`, settings);
      });

      it('agent → agent: the exchange asks for a token without tools; the card needs none', () => {
        const config = createPolicyConfig(settings);
        for (const r of recorded) {
          const p = plan({
            request: toAttributes(r, { traceparent: TRACEPARENT }),
            source: endpoint('planner', 'agent'),
            destination: endpoint('helper', 'agent'),
            config,
            fresh: FRESH,
          });
          assert.equal(p.kind, 'plan', `${r.step}: ${JSON.stringify(p)}`);
          if (p.kind !== 'plan') continue;
          if (r.step === 'card') {
            assert.equal(p.outbound?.kind, 'strip', 'the public card is fetched without a token');
            assert.equal(p.inbound?.kind, 'public_card');
          } else {
            assert.equal(p.outbound?.kind, 'exchange', r.step);
            if (p.outbound?.kind === 'exchange') assert.equal(p.outbound.target.tools, undefined, r.step);
          }
        }
      });

      if (layout.protocols !== undefined) {
        it('off the default paths the policy does not guess: without `protocols` these bindings are not A2A', () => {
          const offDefault = recorded.filter((r) => r.step !== 'card');
          assert.ok(offDefault.length > 0);
          for (const r of offDefault) {
            const c = classify(toAttributes(r), {}, DEFAULT_PROTOCOL_PATTERNS);
            assert.equal(c.protocol, 'other', `${r.step}: ${r.method} ${r.path} → ${c.why}`);
          }
        });
      }
    });
  }
}

describe('A2A agent card at both well-known locations (v0.2 agent.json, v0.3+ agent-card.json)', () => {
  const layout = LAYOUTS[0] as A2aLayout;
  let proxy: RecordingProxy;
  let peer: A2aPeer;
  before(async () => {
    proxy = await RecordingProxy.start();
    peer = await startA2aPeer(layout, proxy.url);
    proxy.forwardTo(peer.url);
  });
  after(async () => {
    await proxy?.close();
    await peer?.close();
  });

  const fetches: [string, string, Record<string, string>][] = [
    ['v0.2 location, plain fetch', '/.well-known/agent.json', {}],
    ['v0.3 location, no A2A-Version', '/.well-known/agent-card.json', {}],
    ['v1.0 client, A2A-Version: 1.0', '/.well-known/agent-card.json', { 'A2A-Version': '1.0' }],
  ];
  for (const [name, path, headers] of fetches) {
    it(`${name}: served, A2A card, public for client and agent callers, refused to an mcp_server`, async () => {
      const from = proxy.requests.length;
      const res = await fetch(`${proxy.url}${path}`, { headers });
      assert.equal(res.status, 200);
      const card = (await res.json()) as { name?: string };
      assert.equal(card.name, 'conformance-agent');
      const [r] = proxy.since(from);
      assert.ok(r);
      const c = classify(toAttributes(r), {}, DEFAULT_PROTOCOL_PATTERNS);
      assert.equal(c.protocol, 'a2a');
      assert.equal(c.a2a?.binding, 'card');
      if (path.endsWith('/agent.json')) assert.equal(c.a2a?.version, '0.2');
      if (headers['A2A-Version']) assert.equal(c.a2a?.version, '1.0');
      assertGate(toAttributes(r), 'a2a', name);
    });
  }
});
