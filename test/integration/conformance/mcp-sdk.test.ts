// Issue 3: traffic recorded from the official @modelcontextprotocol/sdk client
// (every request of a normal session, on every HTTP transport the SDK ships)
// is classified as MCP with the methods and tool names it carries, and the
// gate allows it exactly where ARCHITECTURE.md §3 says.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { classify, createPolicyConfig, DEFAULT_PROTOCOL_PATTERNS, plan } from '../../../src/policy/index.js';
import { type RecordedRequest, RecordingProxy, toAttributes } from '../../support/sdk-recorder.js';
import { assertGate, endpoint, FRESH, TRACEPARENT } from './gate-check.js';
import {
  type McpPeer,
  type McpSession,
  type McpTransportKind,
  runSession,
  startMcpPeer,
  TOOL_ADD,
  TOOL_ASK,
} from './mcp-peer.js';
import { jsonRpcView } from './rpc-view.js';

const KINDS: readonly McpTransportKind[] = ['streamable-stateful', 'streamable-stateless', 'http+sse'];

/** JSON-RPC methods of the client's POSTs, in order ('(response)' for answers to server requests). */
function postedMethods(recorded: readonly RecordedRequest[]): string[] {
  return recorded
    .filter((r) => r.method === 'POST')
    .flatMap((r) => jsonRpcView(r.body).map((m) => m.method ?? '(response)'));
}

for (const kind of KINDS) {
  describe(`MCP SDK ${kind}: every request of a normal session is MCP`, () => {
    let proxy: RecordingProxy;
    let peer: McpPeer;
    let session: McpSession;
    before(async () => {
      proxy = await RecordingProxy.start();
      peer = await startMcpPeer(kind);
      proxy.forwardTo(peer.url);
      session = await runSession(kind, proxy);
    });
    after(async () => {
      await proxy?.close();
      await peer?.close();
    });

    it('the recorder saw the whole session: initialize … ping, in order, each answered', () => {
      const sampling = kind !== 'streamable-stateless';
      const want = [
        'initialize',
        'notifications/initialized',
        'tools/list',
        'tools/call',
        ...(sampling ? ['tools/call', '(response)'] : []),
        'resources/list',
        'resources/templates/list',
        'resources/read',
        'prompts/list',
        'prompts/get',
        'logging/setLevel',
        'ping',
      ];
      assert.deepEqual(postedMethods(session.recorded), want);
      for (const r of session.recorded) {
        if (r.method === 'POST') assert.ok((r.status ?? 0) < 300, `${r.step}: upstream answered ${r.status}`);
      }
      const verbs = new Set(
        session.recorded.map((r) => `${r.method} ${new URL(r.path, 'http://x').pathname}`),
      );
      if (kind === 'http+sse') {
        assert.ok(verbs.has('GET /sse'), 'the 2024-11-05 client opens GET /sse');
        assert.ok(verbs.has('POST /messages'), 'and posts to the announced endpoint');
      } else {
        assert.ok(verbs.has('POST /mcp'));
        assert.ok(verbs.has('GET /mcp'), 'the client opens the standalone GET stream');
      }
      if (kind === 'streamable-stateful') assert.ok(verbs.has('DELETE /mcp'), 'the session ends with DELETE');
    });

    it('classify: MCP, the right transport, and the methods and tool names of each body', () => {
      for (const r of session.recorded) {
        const what = `${r.step}: ${r.method} ${r.path}`;
        const c = classify(toAttributes(r), {}, DEFAULT_PROTOCOL_PATTERNS);
        assert.equal(c.protocol, 'mcp', `${what} → ${c.why} ${c.detail ?? ''}`);
        assert.equal(c.mcp?.transport, kind === 'http+sse' ? 'http+sse' : 'streamable-http', what);
        if (r.method !== 'POST') {
          assert.deepEqual(c.mcp?.methods, [], what);
          continue;
        }
        const view = jsonRpcView(r.body);
        assert.deepEqual(
          c.mcp?.methods,
          view.flatMap((m) => (m.method === undefined ? [] : [m.method])),
          what,
        );
        const tools = view.flatMap((m) => (m.method === 'tools/call' && m.name ? [m.name] : []));
        assert.deepEqual(c.mcp?.tools, tools, what);
        assert.equal(c.mcp?.toolCall, tools.length > 0, what);
        assert.equal(c.mcp?.complete, true, what);
      }
    });

    it('the revision the policy reads matches what the SDK negotiated', () => {
      if (kind === 'http+sse') {
        for (const r of session.recorded) {
          const c = classify(toAttributes(r), {}, DEFAULT_PROTOCOL_PATTERNS);
          assert.equal(c.mcp?.revision, '2024-11-05');
        }
        return;
      }
      // After initialize the SDK sends MCP-Protocol-Version on every request (2025-06-18 §Protocol Version Header).
      const later = session.recorded.filter((r) => r.step !== 'initialize');
      assert.ok(later.length > 0);
      for (const r of later) {
        assert.equal(r.headers.get('mcp-protocol-version'), session.protocolVersion, r.step);
        const c = classify(toAttributes(r), {}, DEFAULT_PROTOCOL_PATTERNS);
        assert.equal(c.mcp?.revision, session.protocolVersion, r.step);
      }
    });

    it('gate: allowed agent/client → mcp_server and → agent; refused from an mcp_server', () => {
      for (const r of session.recorded)
        assertGate(toAttributes(r), 'mcp', `${r.step}: ${r.method} ${r.path}`);
    });

    it('tools/call to an MCP server: the exchange asks for a T3 naming exactly the called tool', () => {
      const config = createPolicyConfig();
      const calls = session.recorded.filter((r) =>
        jsonRpcView(r.body).some((m) => m.method === 'tools/call'),
      );
      const names = calls.map((r) => jsonRpcView(r.body)[0]?.name);
      assert.deepEqual(names, kind === 'streamable-stateless' ? [TOOL_ADD] : [TOOL_ADD, TOOL_ASK]);
      for (const r of calls) {
        const req = toAttributes(r, { traceparent: TRACEPARENT });
        const p = plan({
          request: req,
          source: endpoint('planner', 'agent'),
          destination: endpoint('files', 'mcp_server'),
          config,
          fresh: FRESH,
        });
        assert.equal(p.kind, 'plan', JSON.stringify(p));
        if (p.kind !== 'plan') continue;
        const name = jsonRpcView(r.body)[0]?.name;
        assert.equal(p.outbound?.kind, 'exchange');
        if (p.outbound?.kind === 'exchange') assert.deepEqual(p.outbound.target.tools, [name]);
        assert.equal(p.inbound?.kind, 'verify');
        if (p.inbound?.kind === 'verify') assert.deepEqual(p.inbound.requirement.tools, [name]);
      }
      // Every other MCP request to an MCP server needs an active token, no tool.
      for (const r of session.recorded) {
        if (calls.includes(r)) continue;
        const p = plan({
          request: toAttributes(r, { traceparent: TRACEPARENT }),
          source: endpoint('planner', 'agent'),
          destination: endpoint('files', 'mcp_server'),
          config,
          fresh: FRESH,
        });
        assert.equal(p.kind, 'plan', `${r.step}: ${JSON.stringify(p)}`);
        if (p.kind === 'plan' && p.outbound?.kind === 'exchange')
          assert.equal(p.outbound.target.tools, undefined);
      }
    });
  });
}
