// Decision telemetry end to end, over both OTLP transports: the real NodeAgent
// (reference runtime, file inventory, Envoy-shaped CheckRequests over gRPC)
// exports through OpenTelemetry's own OTLP exporters to a real OTLP receiver
// built from OpenTelemetry's protos. Each decision is a span in the request's
// own trace (the arrived traceparent's parent, or the traceparent the agent
// minted), runtime calls are its children, the attributes name the decision —
// and no token, secret or body byte is anywhere in what the collector got.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../../src/agent/log.js';
import { CasaRuntimeClient } from '../../../src/agent/tokens/index.js';
import {
  a2aSend,
  HOST,
  IP,
  mcpCall,
  newTraceId,
  rpc,
  startWorld,
  traceparent,
  type World,
} from '../../support/casa-world.js';
import {
  type OtlpReceiver,
  type OtlpTransport,
  type ReceivedSpan,
  startOtlpReceiver,
} from '../../support/otlp-receiver.js';

/** The parent span id every test traceparent carries (casa-world's `traceparent`). */
const PARENT = 'b7ad6b7169203331';
const SERVER = 2;
const CLIENT = 3;
const STATUS_ERROR = 2;

/** Collects the agent's JSON log lines. */
class LogLines extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) this.lines.push(JSON.parse(l));
    done();
  }
}

function decisionSpan(spans: readonly ReceivedSpan[], traceId: string, nth = 0): ReceivedSpan {
  const found = spans.filter((s) => s.traceId === traceId && s.name.startsWith('ext_authz '));
  const s = found[nth];
  assert.ok(s, `decision span #${nth} of trace ${traceId} (have ${found.length})`);
  return s;
}

function childrenOf(spans: readonly ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);
}

/** Every secret string the test world knows: app credentials (client secrets). */
function appSecrets(w: World): string[] {
  const out: string[] = [];
  for (const app of Object.values(w.apps)) {
    for (const v of Object.values(app.credentials as unknown as Record<string, unknown>)) {
      if (typeof v === 'string' && v.length >= 8) out.push(v);
    }
  }
  return out;
}

/** A T3 for `tool` on the MCP server, minted at the runtime directly (the agent never saw it). */
async function mintT3(w: World, tool: string): Promise<string> {
  const rt = new CasaRuntimeClient({
    runtimeUrl: w.runtime.url,
    timeoutMs: 5_000,
    concurrency: 4,
    queue: 16,
  });
  try {
    const t1 = await rt.issueUserToken({
      appId: w.apps.planner.appId,
      credentials: w.apps.planner.credentials,
      userInput: `mint for telemetry ${newTraceId()}`,
    });
    const t3 = await rt.exchange({
      appId: w.apps.files.appId,
      credentials: w.apps.files.credentials,
      subjectToken: t1.accessToken,
      mcpServerUrl: `http://${HOST.files}/mcp`,
      tools: [tool],
    });
    return t3.accessToken;
  } finally {
    await rt.close();
  }
}

for (const transport of ['grpc', 'http/protobuf'] as OtlpTransport[]) {
  describe(`decision spans over OTLP ${transport}`, () => {
    let receiver: OtlpReceiver;
    let w: World;
    const logs = new LogLines();
    /** Tokens and secrets that went through the agent in this suite: none may be exported. */
    const secrets: string[] = [];
    /** Bytes of request bodies sent in this suite: none may be exported. */
    const bodyMarkers: string[] = [];

    before(async () => {
      receiver = await startOtlpReceiver(transport);
      w = await startWorld({
        flags: { otlpEndpoint: receiver.endpoint, otlpProtocol: transport, logLevel: 'debug' },
        log: createLogger('debug', logs),
      });
      secrets.push(...appSecrets(w));
    });
    after(async () => {
      await w?.stop();
      await receiver?.close();
    });

    const flush = () => w.agent.telemetry?.forceFlush();

    it('is on, and says where spans go', () => {
      assert.ok(w.agent.telemetry, 'an endpoint turns telemetry on');
      assert.equal(w.agent.telemetry.target, `${transport} ${receiver.endpoint}`);
    });

    it('allow (client → agent): a SERVER span in the arrived trace, child of its parent, runtime calls as children', async () => {
      const trace = newTraceId();
      const marker = `prompt-body-marker-${newTraceId()}`;
      bodyMarkers.push(marker);
      const r = await w.check(IP.web, IP.planner, {
        path: `/?access_token=query-secret-${trace}`,
        host: HOST.planner,
        headers: {
          traceparent: traceparent(trace),
          authorization: 'Bearer app-own-secret-value',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ prompt: `Plan a trip to Lisbon ${marker}` }),
      });
      assert.equal(r.allowed, true, r.body);
      const injected = (r.headersSet.authorization ?? '').replace(/^Bearer /, '');
      assert.match(injected, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the agent injected a JWT');
      secrets.push(injected, 'app-own-secret-value', `query-secret-${trace}`);
      await flush();
      const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === trace));
      const d = decisionSpan(spans, trace);
      assert.equal(
        d.parentSpanId,
        PARENT,
        "the decision span's parent is the request's traceparent parent-id",
      );
      assert.equal(d.kind, SERVER);
      assert.equal(d.name.split(' ')[0], 'ext_authz');
      const a = d.attributes;
      assert.equal(a['casa.decision'], 'allow');
      assert.equal(a['casa.reason'], undefined);
      assert.equal(a['casa.source.app'], 'web');
      assert.equal(a['casa.source.type'], 'client');
      assert.equal(a['casa.destination.app'], 'planner');
      assert.equal(a['casa.destination.type'], 'agent');
      assert.equal(a['casa.mas'], 'travel/travel');
      assert.equal(a['url.path'], '/', 'the path without its query');
      // The same facts the agent's own decision log holds.
      const rec = w.agent.decisions.recent().find((x) => x.traceId === trace);
      assert.ok(rec, 'the decision log has the Check');
      assert.equal(a['casa.direction'], rec.direction);
      assert.equal(a['casa.protocol'], rec.protocol);
      assert.equal(a['casa.runtime.calls'], rec.runtimeCalls);
      assert.equal(a['casa.cache'], rec.cache);
      assert.ok((rec.runtimeCalls ?? 0) >= 3, 'T1, exchange and introspection reached the runtime');
      // Runtime calls as child spans, inside the decision's time.
      const kids = childrenOf(spans, d);
      const ops = kids.map((k) => k.attributes['casa.step']);
      for (const op of ['issue', 'exchange', 'introspect'])
        assert.ok(ops.includes(op), `child ${op}: ${ops}`);
      for (const k of kids) {
        assert.ok(k.startNs >= d.startNs && k.endNs <= d.endNs, `${k.name} lies within the decision`);
        assert.equal(k.attributes['casa.runtime.outcome'], 'ok');
      }
      const issue = kids.find((k) => k.attributes['casa.step'] === 'issue');
      assert.equal(issue?.kind, CLIENT, 'a runtime call is a CLIENT span');
      const exchange = kids.find((k) => k.attributes['casa.step'] === 'exchange');
      assert.equal(
        exchange?.attributes['casa.cache'],
        'miss',
        'the first exchange of a trace is a cache miss',
      );
      assert.ok(
        typeof a['casa.runtime.duration_ms'] === 'number' && a['casa.runtime.duration_ms'] > 0,
        'time spent on runtime calls',
      );
      assert.equal(d.resource['service.name'], 'casa-node-agent');
      assert.equal(d.resource['k8s.node.name'], 'node-a');
    });

    it('allow (agent → MCP server tools/call) and a cache hit on the next call of the trace', async () => {
      const trace = newTraceId();
      const first = await w.check(IP.web, IP.planner, {
        path: '/',
        host: HOST.planner,
        headers: { traceparent: traceparent(trace) },
        body: JSON.stringify({ prompt: 'read my itinerary' }),
      });
      assert.equal(first.allowed, true, first.body);
      const call = () =>
        w.check(IP.planner, IP.files, {
          path: '/mcp',
          host: HOST.files,
          headers: { traceparent: traceparent(trace) },
          body: mcpCall('read_file'),
        });
      const r = await call();
      assert.equal(r.allowed, true, r.body);
      const again = await call();
      assert.equal(again.allowed, true, again.body);
      for (const x of [first, r, again])
        secrets.push((x.headersSet.authorization ?? '').replace(/^Bearer /, ''));
      await flush();
      const spans = await receiver.waitFor(
        (all) => all.filter((s) => s.traceId === trace && s.name.startsWith('ext_authz')).length >= 3,
      );
      const d = decisionSpan(spans, trace, 1);
      assert.equal(d.parentSpanId, PARENT);
      assert.equal(d.attributes['casa.decision'], 'allow');
      assert.equal(d.attributes['casa.protocol'], 'mcp');
      assert.equal(d.attributes['casa.mcp.method'], 'tools/call');
      assert.equal(d.attributes['casa.mcp.tool'], 'read_file');
      assert.equal(d.attributes['casa.destination.type'], 'mcp_server');
      const kids = childrenOf(spans, d).map(
        (k) => `${k.attributes['casa.step']}:${k.attributes['casa.cache']}`,
      );
      assert.ok(kids.includes('exchange:miss'), `first tools/call exchanges: ${kids}`);
      const hit = decisionSpan(spans, trace, 2);
      assert.match(
        String(hit.attributes['casa.cache']),
        /exchange:hit/,
        'the repeated call hits the exchange cache',
      );
      assert.ok(
        childrenOf(spans, hit).every((k) => k.attributes['casa.step'] !== 'exchange'),
        'a cache hit is no runtime call, so no child span',
      );
      assert.ok(
        childrenOf(spans, hit).every((k) => k.kind === CLIENT),
        'every child span is a runtime call',
      );
    });

    it('allow (agent → agent A2A message/send): the A2A method', async () => {
      const trace = newTraceId();
      const first = await w.check(IP.web, IP.planner, {
        path: '/',
        host: HOST.planner,
        headers: { traceparent: traceparent(trace) },
        body: JSON.stringify({ prompt: 'find hotels' }),
      });
      assert.equal(first.allowed, true, first.body);
      const marker = `a2a-body-marker-${newTraceId()}`;
      bodyMarkers.push(marker);
      const r = await w.check(IP.planner, IP.helper, {
        path: '/',
        host: HOST.helper,
        headers: { traceparent: traceparent(trace) },
        body: a2aSend(`find hotels ${marker}`),
      });
      assert.equal(r.allowed, true, r.body);
      secrets.push((r.headersSet.authorization ?? '').replace(/^Bearer /, ''));
      await flush();
      const spans = await receiver.waitFor(
        (all) => all.filter((s) => s.traceId === trace && s.name.startsWith('ext_authz')).length >= 2,
      );
      const d = decisionSpan(spans, trace, 1);
      assert.equal(d.attributes['casa.protocol'], 'a2a');
      assert.equal(d.attributes['casa.a2a.method'], 'message/send');
      assert.equal(d.attributes['casa.destination.app'], 'helper');
    });

    it('deny (policy): reason code, no runtime child, status not an error', async () => {
      const trace = newTraceId();
      const r = await w.check(IP.planner, IP.files, {
        method: 'GET',
        path: '/etc/passwd',
        host: HOST.files,
        headers: { traceparent: traceparent(trace) },
      });
      assert.equal(r.allowed, false);
      assert.equal(r.reason, 'protocol_violation');
      await flush();
      const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === trace));
      const d = decisionSpan(spans, trace);
      assert.equal(d.parentSpanId, PARENT);
      assert.equal(d.attributes['casa.decision'], 'deny');
      assert.equal(d.attributes['casa.reason'], 'protocol_violation');
      assert.equal(d.attributes['casa.deny.status'], 403);
      assert.equal(d.attributes['casa.runtime.calls'], 0);
      assert.equal(childrenOf(spans, d).length, 0, 'no runtime call, no child span');
      assert.notEqual(d.statusCode, STATUS_ERROR, 'a policy deny is not a failure');
    });

    it('deny (token for another tool): the introspection child and the reason', async () => {
      const token = await mintT3(w, 'read_file');
      secrets.push(token);
      const trace = newTraceId();
      const r = await w.check(IP.outside, IP.files, {
        path: '/mcp',
        host: HOST.files,
        headers: { traceparent: traceparent(trace), authorization: `Bearer ${token}` },
        body: mcpCall('delete_everything'),
      });
      assert.equal(r.allowed, false);
      await flush();
      const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === trace));
      const d = decisionSpan(spans, trace);
      assert.equal(d.attributes['casa.decision'], 'deny');
      assert.equal(d.attributes['casa.reason'], r.reason);
      assert.equal(d.attributes['casa.mcp.tool'], 'delete_everything');
      assert.equal(d.attributes['casa.source.app'], undefined, 'an unmanaged caller has no app');
      const kids = childrenOf(spans, d);
      assert.deepEqual(
        kids.map((k) => k.attributes['casa.step']),
        ['introspect'],
      );
    });

    it('deny (runtime failing): ERROR status on the decision and on the failed call', async () => {
      const token = await mintT3(w, 'read_file');
      secrets.push(token);
      const trace = newTraceId();
      const h = w.runtime.injectFault({ kind: 'status', status: 500 }, { endpoints: ['introspect'] });
      let r: Awaited<ReturnType<World['check']>>;
      try {
        r = await w.check(IP.outside, IP.files, {
          path: '/mcp',
          host: HOST.files,
          headers: { traceparent: traceparent(trace), authorization: `Bearer ${token}` },
          body: rpc('tools/list'),
        });
      } finally {
        h.remove();
      }
      assert.equal(r.allowed, false);
      assert.equal(r.reason, 'runtime_bad_response');
      await flush();
      const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === trace));
      const d = decisionSpan(spans, trace);
      assert.equal(d.statusCode, STATUS_ERROR);
      assert.equal(d.attributes['casa.reason'], 'runtime_bad_response');
      const failed = childrenOf(spans, d).find((k) => k.attributes['casa.step'] === 'introspect');
      assert.ok(failed, 'the failed introspection is a child span');
      assert.equal(failed.statusCode, STATUS_ERROR);
      assert.equal(failed.attributes['casa.runtime.outcome'], 'bad_response');
    });

    it('no traceparent: the decision is the root of the trace the agent minted', async () => {
      const r = await w.check(IP.web, IP.planner, {
        path: '/',
        host: HOST.planner,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'hello' }),
      });
      assert.equal(r.allowed, true, r.body);
      secrets.push((r.headersSet.authorization ?? '').replace(/^Bearer /, ''));
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(r.headersSet.traceparent ?? '');
      assert.ok(m, `the agent minted a traceparent: ${r.headersSet.traceparent}`);
      const [, trace, parentId] = m as unknown as [string, string, string];
      await flush();
      const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === trace));
      const d = decisionSpan(spans, trace);
      assert.equal(d.parentSpanId, '', 'a root span');
      assert.equal(
        d.spanId,
        parentId,
        "the app's next span (parent = the minted parent-id) hangs from the decision",
      );
      assert.equal(d.attributes['casa.trace.minted'], true);
      assert.ok(childrenOf(spans, d).length >= 1, 'its runtime calls are its children');
    });

    it('the decision log lines carry the trace id and the decision span id', async () => {
      const trace = newTraceId();
      const r = await w.check(IP.planner, IP.files, {
        method: 'GET',
        path: '/nothing-here',
        host: HOST.files,
        headers: { traceparent: traceparent(trace) },
      });
      assert.equal(r.allowed, false);
      await flush();
      const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === trace));
      const d = decisionSpan(spans, trace);
      const line = logs.lines.find((l) => l.component === 'authz' && l.traceId === trace);
      assert.ok(line, 'a decision line with the trace id');
      assert.equal(line.spanId, d.spanId);
      // Allow lines (debug) carry them too.
      const allowLines = logs.lines.filter((l) => l.component === 'authz' && l.decision === 'allow');
      assert.ok(allowLines.length > 0);
      for (const l of allowLines) {
        assert.match(String(l.traceId), /^[0-9a-f]{32}$/);
        assert.match(String(l.spanId), /^[0-9a-f]{16}$/);
      }
    });

    it('no token, secret, query or body byte anywhere in the raw export', async () => {
      await flush();
      const all = Buffer.concat(receiver.raw);
      assert.ok(all.length > 0 && receiver.raw.length > 0, 'the collector received exports');
      // The scan reads the real bytes: decision attributes are in them.
      for (const present of ['casa.decision', 'ext_authz', 'tools/call', 'read_file']) {
        assert.ok(all.includes(Buffer.from(present)), `sanity: ${present} is in the export`);
      }
      const needles = [...new Set([...secrets, ...bodyMarkers])].filter((s) => s.length >= 8);
      assert.ok(needles.length >= 10, `enough needles to scan for (${needles.length})`);
      for (const n of needles) {
        assert.equal(all.includes(Buffer.from(n)), false, `exported bytes contain ${n.slice(0, 12)}…`);
        // A JWT's signature alone would be as bad.
        const sig = n.split('.')[2];
        if (sig && sig.length >= 16) assert.equal(all.includes(Buffer.from(sig)), false, 'a JWT signature');
      }
      // No JWT of any kind (T1s and T3s the test never saw included): a JOSE header starts "eyJ".
      assert.doesNotMatch(all.toString('latin1'), /eyJ[\w-]{8,}\.[\w-]{8,}/);
      assert.doesNotMatch(all.toString('latin1'), /Bearer /i);
    });
  });
}
