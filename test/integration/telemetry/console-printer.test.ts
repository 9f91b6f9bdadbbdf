// The span printer `casa-agent dev` wires in (`spanPrinter:
// consoleSpanPrinter(stream)`): with no collector at all, each decision is
// printed as it ends — one line for the decision, its ids, one line per
// runtime call — so a newcomer sees the trace of the demo. Same spans an OTLP
// collector would get, so no token and no body in the text either.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { consoleSpanPrinter } from '../../../src/agent/telemetry/index.js';
import { HOST, IP, newTraceId, startWorld, traceparent, type World } from '../../support/casa-world.js';

class Text extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('console span printer (dev)', () => {
  let w: World;
  const out = new Text();
  before(async () => {
    w = await startWorld({ spanPrinter: consoleSpanPrinter(out) });
  });
  after(async () => {
    await w?.stop();
  });

  it('turns telemetry on without a collector', () => {
    assert.equal(w.agent.telemetry?.target, 'console');
  });

  it('prints an allow with its trace, parent and runtime calls, and a deny with its reason', async () => {
    const trace = newTraceId();
    const marker = `printer-body-${newTraceId()}`;
    const r = await w.check(IP.web, IP.planner, {
      path: '/',
      host: HOST.planner,
      headers: { traceparent: traceparent(trace), authorization: 'Bearer printer-secret-value' },
      body: JSON.stringify({ prompt: `plan ${marker}` }),
    });
    assert.equal(r.allowed, true, r.body);
    const denied = newTraceId();
    const d = await w.check(IP.planner, IP.files, {
      method: 'GET',
      path: '/etc/passwd',
      host: HOST.files,
      headers: { traceparent: traceparent(denied) },
    });
    assert.equal(d.allowed, false);
    const text = out.text;
    const lines = text.split('\n');
    const allowAt = lines.findIndex((l) => l.startsWith('ext_authz') && l.includes(' ALLOW '));
    assert.ok(allowAt >= 0, text);
    const allow = lines[allowAt] as string;
    assert.match(allow, /travel\/web \(client\) → travel\/planner \(agent\)/);
    assert.match(allow, /runtime calls [1-9]/);
    assert.match(
      lines[allowAt + 1] ?? '',
      new RegExp(`trace ${trace} +span [0-9a-f]{16} +parent b7ad6b7169203331`),
    );
    const steps = lines
      .slice(allowAt + 2)
      .filter((l, i, all) => l.startsWith('  ↳') && all.slice(0, i).every((x) => x.startsWith('  ↳')));
    assert.ok(
      steps.some((l) => /↳ casa issue [\d.]+ ms ok/.test(l)),
      `the T1 issue under the decision:\n${text}`,
    );
    assert.ok(
      steps.some((l) => /↳ casa exchange [\d.]+ ms ok cache=miss/.test(l)),
      text,
    );
    const deny = lines.find((l) => l.includes(' DENY 403 protocol_violation'));
    assert.ok(deny, text);
    assert.ok(text.includes(`trace ${denied}`));
    const injected = (r.headersSet.authorization ?? '').replace(/^Bearer /, '');
    for (const secret of [injected, 'printer-secret-value', marker]) {
      assert.equal(text.includes(secret), false, `printed text contains ${secret.slice(0, 12)}…`);
    }
    assert.doesNotMatch(text, /eyJ[\w-]{8,}/);
  });
});
