// Real OTLP trace receivers for the telemetry suites, over both transports the
// agent speaks: OTLP/HTTP (protobuf, POST /v1/traces) and OTLP/gRPC
// (opentelemetry.proto.collector.trace.v1.TraceService/Export). Both decode
// with OpenTelemetry's own .proto files as shipped in the
// @elastic/mockotlpserver package (never copied here), keep every request's
// protobuf bytes as received (so a test can scan the raw export), and answer
// an ExportTraceServiceResponse like a collector. Plus the two broken
// collectors: one that refuses (nothing listening) and one that accepts TCP
// connections and never answers (stalled).
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

export type OtlpTransport = 'grpc' | 'http/protobuf';

export type AttrValue = string | number | boolean | AttrValue[] | undefined;

/** One received span, flattened: ids as lower-case hex, attributes as a record. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly attributes: Readonly<Record<string, AttrValue>>;
  readonly resource: Readonly<Record<string, AttrValue>>;
  readonly scope: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
}

let types: { request: protobuf.Type; response: protobuf.Type; exportPath: string } | undefined;

/** OpenTelemetry's trace service protos, from the installed mockotlpserver package. */
function otlpTypes(): NonNullable<typeof types> {
  if (types) return types;
  const base = dirname(require.resolve('@elastic/mockotlpserver/package.json'));
  const root = new protobuf.Root();
  // The protos import each other relative to the package root ("opentelemetry/proto/...").
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(base, target));
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  const service = root.lookupService('opentelemetry.proto.collector.trace.v1.TraceService');
  const exportMethod = service.methods.Export;
  if (!exportMethod) throw new Error('TraceService has no Export method in the shipped protos');
  types = {
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    exportPath: `/${service.fullName.replace(/^\./, '')}/${exportMethod.name}`,
  };
  return types;
}

interface PbAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: PbAnyValue[] };
}
interface PbKeyValue {
  key: string;
  value?: PbAnyValue;
}
interface PbSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId?: Uint8Array;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: PbKeyValue[];
  status?: { code?: number };
}
interface PbRequest {
  resourceSpans?: {
    resource?: { attributes?: PbKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: PbSpan[] }[];
  }[];
}

function anyValue(v: PbAnyValue | undefined): AttrValue {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  return undefined;
}

function attrs(kvs: readonly PbKeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of kvs ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

const hex = (b: Uint8Array | undefined) => (b && b.length > 0 ? Buffer.from(b).toString('hex') : '');

/** Decodes one ExportTraceServiceRequest into flat spans. */
export function decodeExport(bytes: Uint8Array): ReceivedSpan[] {
  const t = otlpTypes();
  const msg = t.request.toObject(t.request.decode(bytes), {
    longs: String,
    enums: Number,
    arrays: true,
  }) as PbRequest;
  const out: ReceivedSpan[] = [];
  for (const rs of msg.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind ?? 0,
          statusCode: s.status?.code ?? 0,
          attributes: attrs(s.attributes),
          resource,
          scope: ss.scope?.name ?? '',
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
        });
      }
    }
  }
  return out;
}

export interface OtlpReceiver {
  readonly transport: OtlpTransport;
  /** The base endpoint to configure (`--otlp-endpoint`), e.g. http://127.0.0.1:4318. */
  readonly endpoint: string;
  /** Every span received so far, in arrival order. */
  readonly spans: ReceivedSpan[];
  /** Every export request's protobuf bytes (decompressed), as received. */
  readonly raw: Buffer[];
  /** Spans received so far (counted even when not kept). */
  readonly received: number;
  /** Resolves once `pred` holds for the spans received (polls; rejects after `timeoutMs`). */
  waitFor(pred: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

abstract class Collected {
  readonly spans: ReceivedSpan[] = [];
  readonly raw: Buffer[] = [];
  received = 0;

  constructor(private readonly keep: boolean) {}

  protected take(bytes: Buffer): void {
    const spans = decodeExport(bytes);
    this.received += spans.length;
    if (!this.keep) return;
    this.raw.push(bytes);
    this.spans.push(...spans);
  }

  async waitFor(
    pred: (spans: readonly ReceivedSpan[]) => boolean,
    timeoutMs = 10_000,
  ): Promise<ReceivedSpan[]> {
    const until = Date.now() + timeoutMs;
    while (!pred(this.spans)) {
      if (Date.now() > until) {
        throw new Error(
          `OTLP receiver: condition not met within ${timeoutMs}ms; received ${this.spans.length} span(s): ` +
            this.spans.map((s) => `${s.name} ${s.traceId}/${s.spanId}`).join(', '),
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.spans;
  }
}

class HttpReceiver extends Collected implements OtlpReceiver {
  readonly transport = 'http/protobuf' as const;
  endpoint = '';
  readonly #server: HttpServer;

  constructor(path: string, keep: boolean) {
    super(keep);
    this.#server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== path) {
          res.writeHead(404).end();
          return;
        }
        if (req.headers['content-type'] !== 'application/x-protobuf') {
          res.writeHead(415).end();
          return;
        }
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        try {
          this.take(body);
        } catch {
          res.writeHead(400).end();
          return;
        }
        const t = otlpTypes();
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        res.end(Buffer.from(t.response.encode(t.response.create({})).finish()));
      });
    });
  }

  async listen(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    const addr = this.#server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    this.endpoint = `http://127.0.0.1:${addr.port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

class GrpcReceiver extends Collected implements OtlpReceiver {
  readonly transport = 'grpc' as const;
  endpoint = '';
  readonly #server = new grpc.Server();

  constructor(keep: boolean) {
    super(keep);
  }

  async listen(): Promise<this> {
    const t = otlpTypes();
    // The request is kept as bytes (identity deserializer) and decoded with the protos.
    const definition: grpc.ServiceDefinition = {
      Export: {
        path: t.exportPath,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (m: object) => Buffer.from(t.response.encode(t.response.create(m)).finish()),
        responseDeserialize: (b: Buffer) => t.response.decode(b),
      },
    };
    this.#server.addService(definition, {
      Export: (call: grpc.ServerUnaryCall<Buffer, object>, cb: grpc.sendUnaryData<object>) => {
        try {
          this.take(call.request);
        } catch (err) {
          cb({ code: grpc.status.INVALID_ARGUMENT, details: String(err) });
          return;
        }
        cb(null, {});
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.endpoint = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.forceShutdown();
  }
}

export interface ReceiverOptions {
  /** Where OTLP/HTTP takes traces (default /v1/traces, as for a base endpoint). */
  readonly path?: string;
  /** Keep the spans and raw bytes (default); false only counts them (benchmarks). */
  readonly keep?: boolean;
}

export function startOtlpReceiver(transport: OtlpTransport, o: ReceiverOptions = {}): Promise<OtlpReceiver> {
  const keep = o.keep ?? true;
  return transport === 'grpc'
    ? new GrpcReceiver(keep).listen()
    : new HttpReceiver(o.path ?? '/v1/traces', keep).listen();
}

/** A collector that accepts TCP connections and never answers a byte (stalled). */
export interface StalledCollector {
  readonly endpoint: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startStalledCollector(): Promise<StalledCollector> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createTcpServer((s) => {
    accepted++;
    sockets.add(s);
    // Read and discard, so the client's writes do not back up; never write.
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    get accepted() {
      return accepted;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An endpoint nothing listens on (the collector is down): a port bound, then released. */
export async function downCollectorEndpoint(): Promise<string> {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${addr.port}`;
}
