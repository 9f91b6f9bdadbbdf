// A collector that is down (nothing listens) or stalled (accepts TCP and never
// answers) costs the Checks nothing but dropped spans: every Check is still
// answered as it should be, the queue never holds more than its bound, and
// every span that never reached a collector is counted on /metrics
// (casa_otel_spans_dropped_total{reason}). No timing is asserted here: the
// latency cost is measured by bench/telemetry-bench.ts.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { HOST, IP, newTraceId, startWorld, traceparent, type World } from '../../support/casa-world.js';
import {
  downCollectorEndpoint,
  type OtlpTransport,
  type StalledCollector,
  startStalledCollector,
} from '../../support/otlp-receiver.js';

// Small bounds so that a burst overflows the queue, and a short export timeout
// so that a stalled export gives up within the test (the agent reads these
// standard variables from its process environment).
const MAX_QUEUE = 16;
process.env.OTEL_BSP_MAX_QUEUE_SIZE = String(MAX_QUEUE);
process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE = '8';
process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
process.env.OTEL_EXPORTER_OTLP_TIMEOUT = '300';

const CHECKS = 60;

async function dropped(w: World): Promise<Record<string, number>> {
  const diag = w.agent.state().listen.diag;
  const text = await (await fetch(`http://${diag}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^casa_otel_spans_dropped_total\{reason="(\w+)"\} (\d+)/gm)) {
    out[m[1] as string] = Number(m[2]);
  }
  return out;
}

const total = (d: Record<string, number>) => Object.values(d).reduce((a, b) => a + b, 0);

/** CHECKS concurrent Checks, each answered without a runtime call: exactly one span each. */
async function burst(w: World): Promise<number> {
  let maxQueued = 0;
  const results = await Promise.all(
    Array.from({ length: CHECKS }, async () => {
      const r = await w.check(IP.planner, IP.files, {
        method: 'GET',
        path: '/etc/passwd',
        host: HOST.files,
        headers: { traceparent: traceparent(newTraceId()) },
      });
      maxQueued = Math.max(maxQueued, w.agent.telemetry?.queued ?? 0);
      return r;
    }),
  );
  for (const r of results) {
    assert.equal(r.allowed, false);
    assert.equal(r.reason, 'protocol_violation', 'every Check is decided as usual');
  }
  return maxQueued;
}

/** Waits until every span is accounted for as dropped (polls /metrics). */
async function allDropped(w: World, expected: number): Promise<Record<string, number>> {
  const until = Date.now() + 15_000;
  for (;;) {
    const d = await dropped(w);
    if (total(d) >= expected || Date.now() > until) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const transport of ['grpc', 'http/protobuf'] as OtlpTransport[]) {
  describe(`collector faults over ${transport}`, () => {
    const worlds: World[] = [];
    let stalled: StalledCollector | undefined;
    after(async () => {
      for (const w of worlds) await w.stop();
      await stalled?.close();
    });

    it('collector down: Checks answered, queue bounded, every span counted as dropped', async () => {
      const w = await startWorld({
        flags: { otlpEndpoint: await downCollectorEndpoint(), otlpProtocol: transport },
      });
      worlds.push(w);
      const maxQueued = await burst(w);
      assert.ok(maxQueued <= MAX_QUEUE, `queue stayed within ${MAX_QUEUE} (max seen ${maxQueued})`);
      const d = await allDropped(w, CHECKS);
      assert.equal(total(d), CHECKS, `every span is accounted for: ${JSON.stringify(d)}`);
      assert.ok((d.queue_full ?? 0) > 0, `a burst of ${CHECKS} overflows a queue of ${MAX_QUEUE}`);
      assert.ok((d.export_failed ?? 0) > 0, 'the queued ones failed to export');
      assert.equal(w.agent.telemetry?.queued, 0);
      // And the agent still answers afterwards.
      await burst(w);
    });

    it('collector stalled (accepts, never answers): Checks answered, queue bounded, every span counted', async () => {
      stalled = await startStalledCollector();
      const w = await startWorld({ flags: { otlpEndpoint: stalled.endpoint, otlpProtocol: transport } });
      worlds.push(w);
      const maxQueued = await burst(w);
      assert.ok(maxQueued <= MAX_QUEUE, `queue stayed within ${MAX_QUEUE} (max seen ${maxQueued})`);
      const d = await allDropped(w, CHECKS);
      assert.equal(total(d), CHECKS, `every span is accounted for: ${JSON.stringify(d)}`);
      assert.ok((d.export_failed ?? 0) > 0, 'exports to a stalled collector time out and count');
      assert.ok(stalled.accepted > 0, 'the exporter did connect to the stalled collector');
    });
  });
}
