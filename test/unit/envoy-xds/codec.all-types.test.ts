// The codec carries any Envoy resource type: every top-level message of every
// v3 (and xds/udpa) .proto shipped in @grpc/grpc-js-xds loads lazily by its
// package and encodes; the few deprecated v2 files shipped without their
// imports are refused with a clear error and do not break anything else.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EnvoyCodec, EnvoyJsonError } from '../../../src/envoy-xds/codec.js';
import { envoyProtoIncludeDirs } from '../../../src/envoy-xds/protos.js';

function protoFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return protoFiles(p);
    return f.endsWith('.proto') ? [p] : [];
  });
}

function topLevelMessages(): string[] {
  const [envoyApi, xds] = envoyProtoIncludeDirs();
  const names: string[] = [];
  for (const file of [...protoFiles(envoyApi as string), ...protoFiles(xds as string)]) {
    const src = readFileSync(file, 'utf8');
    const pkg = /^package\s+([\w.]+);/m.exec(src)?.[1];
    if (!pkg) continue;
    for (const m of src.matchAll(/^message\s+(\w+)\s*\{/gm)) names.push(`${pkg}.${m[1]}`);
  }
  return names;
}

const isV2 = (name: string) => /\.v2(alpha\d*)?\.|\.v2$/.test(name) || name.startsWith('envoy.api.v2');

describe('EnvoyCodec type coverage', () => {
  it('loads and encodes every v3 message type lazily, and refuses unloadable v2 ones clearly', () => {
    const codec = new EnvoyCodec();
    const names = topLevelMessages();
    const v3 = names.filter((n) => !isV2(n));
    assert.ok(v3.length > 700, `found ${v3.length} v3 message types`);
    // Touch a broken v2 type first: it must not poison what follows.
    const v2Failures = names.filter(isV2).filter((n) => {
      try {
        codec.encode(n, {});
        return false;
      } catch (err) {
        assert.ok(err instanceof EnvoyJsonError, `${n}: ${err}`);
        assert.match(err.message, /unknown message type|not available/);
        return true;
      }
    });
    assert.ok(v2Failures.length > 0, 'the shipped v2 files miss imports (sanity check of this test)');
    // A handful of v3 types import OpenCensus/OpenTelemetry/Prometheus protos
    // that the package does not ship; nothing else may fail.
    const failed = v3.flatMap((n) => {
      try {
        codec.encode(n, {});
        return [];
      } catch (err) {
        return [`${n}: ${(err as Error).message}`];
      }
    });
    assert.deepEqual(
      failed.filter((f) => !/opencensus|opentelemetry|prometheus/i.test(f)),
      [],
    );
    assert.ok(failed.length <= 8, failed.join('\n'));
    const listener = codec.encodeAny({
      '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
      name: 'l',
    });
    assert.equal(codec.decodeAny(listener).name, 'l');
  });
});
