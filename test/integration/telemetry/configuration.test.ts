// How decision telemetry is configured: off unless an endpoint is set; our
// own settings (flag, CASA_* variable, config file) before OpenTelemetry's
// standard OTEL_EXPORTER_OTLP_[TRACES_]{ENDPOINT,PROTOCOL}; OTEL_SERVICE_NAME
// names the service. The end-to-end cases run the real NodeAgent against real
// OTLP receivers and look at what arrived where.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/agent/config/load.js';
import { createLogger } from '../../../src/agent/log.js';
import { HOST, IP, newTraceId, startWorld, traceparent, type World } from '../../support/casa-world.js';
import { type OtlpReceiver, startOtlpReceiver } from '../../support/otlp-receiver.js';

// The agent reads OTEL_SERVICE_NAME from its process environment, as every
// OpenTelemetry SDK does (node:test runs each file in its own process).
process.env.OTEL_SERVICE_NAME = 'casa-agent-under-test';

const load = (flags: Record<string, string>, env: Record<string, string>, fileText?: string) =>
  loadConfig({ flags, env, ...(fileText !== undefined ? { fileText } : {}) });

describe('configuration precedence (loadConfig)', () => {
  it('off by default: no endpoint, http/protobuf (the OpenTelemetry default) as the protocol', () => {
    const c = load({}, {});
    assert.equal(c.otlpEndpoint, undefined);
    assert.equal(c.otlpProtocol, 'http/protobuf');
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL when none of ours is set', () => {
    const c = load(
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' },
    );
    assert.equal(c.otlpEndpoint, 'http://collector:4318');
    assert.equal(c.otlpProtocol, 'http/protobuf');
    assert.notEqual(c.otlpTracesUrl, true, 'a generic endpoint is a base URL');
  });

  it('the signal-specific OTEL_EXPORTER_OTLP_TRACES_* before the generic ones; its URL is used as is', () => {
    const c = load(
      {},
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4317',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/custom/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      },
    );
    assert.equal(c.otlpEndpoint, 'http://traces:4318/custom/traces');
    assert.equal(c.otlpTracesUrl, true);
    assert.equal(c.otlpProtocol, 'http/protobuf');
  });

  it('--otlp-endpoint, CASA_OTLP_ENDPOINT and the config file each win over OTEL_*', () => {
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4317',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://otel-traces:4318/v1/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    };
    const byFlag = load({ otlpEndpoint: 'http://flag:4317', otlpProtocol: 'grpc' }, otel);
    assert.equal(byFlag.otlpEndpoint, 'http://flag:4317');
    assert.equal(byFlag.otlpProtocol, 'grpc');
    assert.notEqual(byFlag.otlpTracesUrl, true);
    const byEnv = load({}, { ...otel, CASA_OTLP_ENDPOINT: 'http://casa:4317', CASA_OTLP_PROTOCOL: 'grpc' });
    assert.equal(byEnv.otlpEndpoint, 'http://casa:4317');
    assert.equal(byEnv.otlpProtocol, 'grpc');
    const byFile = load({}, otel, 'otlpEndpoint: http://file:4317\notlpProtocol: grpc\n');
    assert.equal(byFile.otlpEndpoint, 'http://file:4317');
    assert.equal(byFile.otlpProtocol, 'grpc');
    // Our endpoint with OTEL's protocol: each setting falls back on its own.
    const mixed = load({ otlpEndpoint: 'http://flag:4318' }, otel);
    assert.equal(mixed.otlpProtocol, 'http/protobuf');
  });

  it('a bad OTEL_* value is a configuration error naming the variable', () => {
    assert.throws(
      () => load({}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
      (e: unknown) => e instanceof ConfigError && /OTEL_EXPORTER_OTLP_PROTOCOL/.test(e.message),
    );
    assert.throws(
      () => load({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }),
      (e: unknown) => e instanceof ConfigError && /OTEL_EXPORTER_OTLP_ENDPOINT/.test(e.message),
    );
  });
});

/** Collects the agent's JSON log lines. */
class LogLines extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) this.lines.push(JSON.parse(l));
    done();
  }
}

/** A Check that is answered without any runtime call (a protocol violation). */
async function deniedCheck(w: World, trace: string): Promise<void> {
  const r = await w.check(IP.planner, IP.files, {
    method: 'GET',
    path: '/etc/passwd',
    host: HOST.files,
    headers: { traceparent: traceparent(trace) },
  });
  assert.equal(r.allowed, false);
}

describe('the running agent', () => {
  const worlds: World[] = [];
  const receivers: OtlpReceiver[] = [];
  after(async () => {
    for (const w of worlds) await w.stop();
    for (const r of receivers) await r.close();
  });
  const world = async (...args: Parameters<typeof startWorld>) => {
    const w = await startWorld(...args);
    worlds.push(w);
    return w;
  };
  const receiver = async (...args: Parameters<typeof startOtlpReceiver>) => {
    const r = await startOtlpReceiver(...args);
    receivers.push(r);
    return r;
  };

  it('is off by default in run: no telemetry, and the start line says so', async () => {
    const logs = new LogLines();
    const w = await world({ log: createLogger('info', logs) });
    assert.equal(w.agent.telemetry, undefined);
    await deniedCheck(w, newTraceId());
    const started = logs.lines.find((l) => l.msg === 'casa-agent started');
    assert.equal(started?.telemetry, 'off');
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT + _PROTOCOL alone turn it on; OTEL_SERVICE_NAME names the service', async () => {
    const http = await receiver('http/protobuf');
    const w = await world({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: http.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' },
    });
    assert.equal(w.agent.telemetry?.target, `http/protobuf ${http.endpoint}`);
    const trace = newTraceId();
    await deniedCheck(w, trace);
    await w.agent.telemetry?.forceFlush();
    const spans = await http.waitFor((all) => all.some((s) => s.traceId === trace));
    const d = spans.find((s) => s.traceId === trace);
    assert.equal(d?.resource['service.name'], 'casa-agent-under-test');
  });

  it('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: a full traces URL, used as is', async () => {
    const http = await receiver('http/protobuf', { path: '/custom/traces' });
    const w = await world({
      env: {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${http.endpoint}/custom/traces`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      },
    });
    const trace = newTraceId();
    await deniedCheck(w, trace);
    await w.agent.telemetry?.forceFlush();
    await http.waitFor((all) => all.some((s) => s.traceId === trace));
  });

  it('--otlp-endpoint wins over OTEL_EXPORTER_OTLP_ENDPOINT: only its collector gets spans', async () => {
    const ours = await receiver('grpc');
    const theirs = await receiver('http/protobuf');
    const w = await world({
      flags: { otlpEndpoint: ours.endpoint },
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: theirs.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    });
    const trace = newTraceId();
    await deniedCheck(w, trace);
    await w.agent.telemetry?.forceFlush();
    await ours.waitFor((all) => all.some((s) => s.traceId === trace));
    assert.equal(theirs.raw.length, 0, 'the OTEL_* collector received nothing');
  });
});
