// A raw xDS client over real gRPC, built from the same Envoy protos: it opens
// ADS (or per-type) SotW and delta streams and hands every response to the
// test, which writes the requests itself — so tests can send exactly the
// ACKs, NACKs, stale nonces and reconnects the protocol allows.
import * as grpc from '@grpc/grpc-js';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
} from '../../../src/envoy-xds/discovery.js';
import { ADS_FILE, ADS_SERVICE, PER_TYPE_SERVICES } from '../../../src/envoy-xds/discovery.js';
import { loadEnvoyGrpc, lookup } from '../../../src/envoy-xds/protos.js';

type Ctor = grpc.ServiceClientConstructor;
type Stub = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** Responses of one stream, in order, awaited one at a time. */
export class XdsCall<Req, Resp> {
  private readonly queue: Resp[] = [];
  private waiter?: { resolve: (r: Resp) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
  private ended?: Error;
  received = 0;

  constructor(readonly call: grpc.ClientDuplexStream<Req, Resp>) {
    call.on('data', (r: Resp) => {
      this.received++;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        clearTimeout(w.timer);
        w.resolve(r);
      } else this.queue.push(r);
    });
    call.on('error', (e: Error) => this.fail(e));
    call.on('end', () => this.fail(new Error('stream ended')));
  }

  send(req: Req): void {
    this.call.write(req);
  }

  /** The next response (rejects after `timeoutMs` or when the stream ends). */
  next(timeoutMs = 5000): Promise<Resp> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no xDS response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }

  /** Resolves true if no response arrives within `ms` (and leaves the queue as it was). */
  async quietFor(ms: number): Promise<boolean> {
    const before = this.received;
    await new Promise((r) => setTimeout(r, ms));
    return this.received === before && this.queue.length === 0;
  }

  get pending(): number {
    return this.queue.length;
  }

  cancel(): void {
    this.call.cancel();
  }

  end(): void {
    this.call.end();
  }

  private fail(e: Error): void {
    this.ended ??= e;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.reject(e);
    }
  }
}

export type SotwCall = XdsCall<DiscoveryRequest, DiscoveryResponse>;
export type DeltaCall = XdsCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

export class RawXdsClient {
  private readonly ads: Stub;
  private readonly perType = new Map<string, Stub>();
  private readonly target: string;

  constructor(target: string, channelOptions: grpc.ChannelOptions = {}) {
    this.target = target;
    const pkg = loadEnvoyGrpc([ADS_FILE, ...PER_TYPE_SERVICES.map((s) => s.file)]);
    const Ads = lookup<Ctor>(pkg, ADS_SERVICE);
    this.ads = new Ads(target, grpc.credentials.createInsecure(), channelOptions) as unknown as Stub;
    for (const s of PER_TYPE_SERVICES) {
      const C = lookup<Ctor>(pkg, s.service);
      this.perType.set(
        s.service,
        new C(target, grpc.credentials.createInsecure(), channelOptions) as unknown as Stub,
      );
    }
  }

  sotw(): SotwCall {
    return new XdsCall(
      this.ads.StreamAggregatedResources?.() as grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>,
    );
  }

  delta(): DeltaCall {
    return new XdsCall(
      this.ads.DeltaAggregatedResources?.() as grpc.ClientDuplexStream<
        DeltaDiscoveryRequest,
        DeltaDiscoveryResponse
      >,
    );
  }

  /** A per-type stream, e.g. ('envoy.service.route.v3.RouteDiscoveryService', 'StreamRoutes'). */
  perTypeStream<Req, Resp>(service: string, method: string): XdsCall<Req, Resp> {
    const stub = this.perType.get(service);
    const fn = stub?.[method];
    if (!stub || !fn) throw new Error(`no method ${service}/${method}`);
    return new XdsCall(fn.call(stub) as grpc.ClientDuplexStream<Req, Resp>);
  }

  fetch(service: string, method: string, req: DiscoveryRequest): Promise<DiscoveryResponse> {
    const stub = this.perType.get(service);
    const fn = stub?.[method];
    if (!stub || !fn) throw new Error(`no method ${service}/${method}`);
    return new Promise((resolve, reject) => {
      fn.call(stub, req, (err: grpc.ServiceError | null, res: DiscoveryResponse) =>
        err ? reject(err) : resolve(res),
      );
    });
  }

  toString(): string {
    return this.target;
  }

  close(): void {
    this.ads.close();
    for (const s of this.perType.values()) s.close();
  }
}
