// XdsServer: the gRPC transport for xDS on @grpc/grpc-js — ADS
// (envoy.service.discovery.v3.AggregatedDiscoveryService, SotW and delta) and
// the per-type services (LDS, RDS, SRDS, CDS, EDS, ECDS, SDS, RTDS: Stream*,
// Delta* and the unary Fetch*). Thin on purpose: it moves messages between a
// gRPC call and a SotwStream/DeltaStream, and guarantees that however a call
// ends (client half-close, cancel, reset, error, protocol violation, server
// shutdown) the stream's snapshot watch and state are dropped exactly once.
import * as grpc from '@grpc/grpc-js';
import { DeltaStream } from './delta-stream.js';
import {
  ADS_FILE,
  ADS_SERVICE,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  PER_TYPE_SERVICES,
  type StreamEndReason,
  type XdsClientStatus,
  type XdsNode,
  type XdsObserver,
  XdsProtocolError,
} from './discovery.js';
import { loadEnvoyGrpc, lookup } from './protos.js';
import { EMPTY_VERSION, type SnapshotStore } from './snapshot-store.js';
import { SotwStream } from './sotw-stream.js';
import { fanOut, type XdsCounters, XdsStats } from './xds-stats.js';
import type { StreamLimits, StreamOptions } from './xds-stream.js';

export interface XdsServerOptions {
  readonly store: SnapshotStore;
  /** Metrics and logs: streams, responses, ACKs, NACKs (with error_detail). */
  readonly observer?: XdsObserver;
  /** Maps a client's Node to its snapshot key (default: node.id). */
  readonly nodeKey?: (node: XdsNode | undefined) => string;
  readonly limits?: StreamLimits;
  /** Concurrent streams refused beyond this (RESOURCE_EXHAUSTED; default 4096). */
  readonly maxStreams?: number;
  /** Sent as control_plane.identifier in every response. */
  readonly controlPlaneId?: string;
  /** An observer threw (the stream carried on). */
  readonly onObserverError?: (err: unknown) => void;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

type Duplex = grpc.ServerDuplexStream<unknown, unknown>;

interface OpenStream {
  readonly stream: SotwStream | DeltaStream;
  readonly call: Duplex;
  readonly finish: (reason: StreamEndReason, detail?: string) => void;
}

export class XdsServer {
  private readonly stats = new XdsStats();
  private readonly observer: XdsObserver;
  private readonly streams = new Map<string, OpenStream>();
  private readonly maxStreams: number;
  private server?: grpc.Server;
  private streamCounter = 0;
  private closing = false;

  constructor(private readonly opts: XdsServerOptions) {
    this.observer = fanOut([this.stats, opts.observer], opts.onObserverError);
    this.maxStreams = opts.maxStreams ?? 4096;
  }

  /** Registers ADS and every per-type discovery service on `server`. */
  addTo(server: grpc.Server): void {
    const pkg = loadEnvoyGrpc([ADS_FILE, ...PER_TYPE_SERVICES.map((s) => s.file)]);
    const ads = lookup<grpc.ServiceClientConstructor>(pkg, ADS_SERVICE).service;
    server.addService(ads, {
      StreamAggregatedResources: (call: Duplex) => this.serve(call, 'sotw', ADS_SERVICE),
      DeltaAggregatedResources: (call: Duplex) => this.serve(call, 'delta', ADS_SERVICE),
    });
    for (const s of PER_TYPE_SERVICES) {
      const svc = lookup<grpc.ServiceClientConstructor>(pkg, s.service).service;
      server.addService(svc, {
        [s.stream]: (call: Duplex) => this.serve(call, 'sotw', s.service, s.typeUrl),
        [s.delta]: (call: Duplex) => this.serve(call, 'delta', s.service, s.typeUrl),
        [s.fetch]: (
          call: grpc.ServerUnaryCall<DiscoveryRequest, DiscoveryResponse>,
          cb: grpc.sendUnaryData<DiscoveryResponse>,
        ) => this.fetch(call.request, s.typeUrl, cb),
      });
    }
  }

  /** Starts a dedicated gRPC server (port 0 picks a free port). */
  async listen(at: ListenAddress): Promise<ListenAddress> {
    const server = new grpc.Server({
      // Detect peers that vanished without closing, so their streams end too.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.max_receive_message_length': 4 * 1024 * 1024,
    });
    this.addTo(server);
    const host = at.host.includes(':') ? `[${at.host}]` : at.host;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${at.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      );
    });
    this.server = server;
    return { host: at.host, port };
  }

  /**
   * Ends every stream with UNAVAILABLE (clients reconnect elsewhere or later)
   * and stops the server started by listen(), forcing it after `graceMs`.
   */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    for (const open of [...this.streams.values()]) {
      open.finish('server_shutdown');
      open.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'xDS server shutting down' });
    }
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  get streamsOpen(): number {
    return this.streams.size;
  }

  /** Every open stream: node, kind, and per type the versions sent, ACKed, NACKed (+ error). */
  clients(): XdsClientStatus[] {
    return [...this.streams.values()].map((s) => s.stream.status());
  }

  counters(): XdsCounters {
    return this.stats.snapshot();
  }

  private serve(call: Duplex, kind: 'sotw' | 'delta', service: string, fixedTypeUrl?: string): void {
    if (this.closing) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'xDS server shutting down' });
      return;
    }
    if (this.streams.size >= this.maxStreams) {
      call.emit('error', {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `more than ${this.maxStreams} xDS streams`,
      });
      return;
    }
    this.streamCounter += 1;
    const options: StreamOptions<unknown> = {
      store: this.opts.store,
      streamId: `s${this.streamCounter}`,
      service,
      fixedTypeUrl,
      nodeKey: this.opts.nodeKey,
      observer: this.observer,
      limits: this.opts.limits,
      send: (response) => call.write(this.stamp(response)),
    };
    const stream =
      kind === 'sotw'
        ? new SotwStream(options as StreamOptions<DiscoveryResponse>)
        : new DeltaStream(options as StreamOptions<DeltaDiscoveryResponse>);
    let ended = false;
    const finish = (reason: StreamEndReason, detail?: string) => {
      if (ended) return;
      ended = true;
      stream.close();
      this.streams.delete(stream.streamId);
      this.observer.onStreamClose?.(stream.ref, reason, detail);
    };
    this.streams.set(stream.streamId, { stream, call, finish });
    this.observer.onStreamOpen?.(stream.ref);

    call.on('data', (request: unknown) => {
      if (ended) return;
      try {
        stream.handle(request as DiscoveryRequest & DeltaDiscoveryRequest);
      } catch (err) {
        const protocol = err instanceof XdsProtocolError;
        const details = protocol ? err.message : `internal error: ${(err as Error).message}`;
        finish(protocol ? 'protocol_error' : 'error', details);
        call.emit('error', { code: protocol ? err.code : grpc.status.INTERNAL, details });
      }
    });
    call.on('drain', () => stream.resume());
    // The client half-closed: it wants nothing more; end our side (status OK).
    // grpc-js also ends the readable side of a cancelled call, just before it
    // reports the cancel: look again a turn later to tell the two apart.
    call.on('end', () => {
      setImmediate(() => {
        if (call.cancelled) {
          finish('cancelled');
          return;
        }
        finish('ended');
        call.end();
      });
    });
    call.on('cancelled', () => finish('cancelled'));
    call.on('error', (err: Error) => finish('error', err.message));
    call.on('close', () => finish('cancelled'));
  }

  /** Unary Fetch*: the current resources for the requested names (all if none), no stream state. */
  private fetch(request: DiscoveryRequest, typeUrl: string, cb: grpc.sendUnaryData<DiscoveryResponse>): void {
    let key: string;
    try {
      key = this.opts.nodeKey ? this.opts.nodeKey(request.node ?? undefined) : (request.node?.id ?? '');
    } catch (err) {
      cb({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
      return;
    }
    if (!key) {
      cb({ code: grpc.status.INVALID_ARGUMENT, details: 'node.id is required' });
      return;
    }
    const snapshot = this.opts.store.snapshot(key);
    if (!snapshot) {
      cb({ code: grpc.status.UNAVAILABLE, details: `no configuration for node ${key} yet` });
      return;
    }
    const typeSnapshot = snapshot.types.get(typeUrl);
    const names = request.resource_names ?? [];
    const all = [...(typeSnapshot?.resources.values() ?? [])];
    const chosen =
      names.length === 0 || names.includes('*') ? all : all.filter((r) => names.includes(r.name));
    cb(
      null,
      this.stamp({
        version_info: typeSnapshot?.version ?? EMPTY_VERSION,
        resources: chosen.map((r) => r.any),
        type_url: typeUrl,
        nonce: '',
      }),
    );
  }

  private stamp<T>(response: T): T {
    const id = this.opts.controlPlaneId;
    return id ? { ...response, control_plane: { identifier: id } } : response;
  }
}
