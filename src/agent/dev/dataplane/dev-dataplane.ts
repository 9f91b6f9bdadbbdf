// The development data plane: an HTTP/1.1 + h2c forward/reverse proxy that
// asks the agent's ext_authz service before every request, as Envoy's ext_authz
// filter does in front of the router. It exists so that real MCP/A2A clients
// can be pointed at the agent on a laptop; it is NOT the production data plane
// (that is Cilium's Envoy, or Istio's sidecars).
//
// Like Cilium's single node Envoy, it knows who is talking by where traffic
// arrives: each managed app gets its own egress listener (the app's HTTP proxy:
// source = that app's pod IP), and the destination is the MAS app whose baseUrl
// host is the request's authority (destination = that app's pod IP). An ingress
// listener is a reverse proxy to one app for callers outside the mesh.
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { AuthzChannel } from './authz-channel.js';
import {
  checkRequestMessage,
  type PeerAddress,
  type SeenRequest,
  type WithRequestBody,
} from './check-request.js';
import {
  applyMutations,
  applyQuery,
  type CheckVerdict,
  type HeaderList,
  type HeaderMutation,
  removeHeaders,
  verdictOf,
} from './check-response.js';
import { describeInjected, type InjectedHeader } from './token-fingerprint.js';

/** A MAS app the data plane can route to. */
export interface AppRoute {
  readonly app: string;
  /** `baseUrl.host` (`planner.demo:8000`): the authority clients use. */
  readonly authority: string;
  /** The app's (synthetic) pod IP and port, sent as the Check's destination. */
  readonly podIp: string;
  readonly podPort: number;
  /** Where the app really listens. */
  readonly upstream: { readonly host: string; readonly port: number };
}

export type ListenerSpec =
  /** The HTTP proxy of one managed app: the source of every request is that app. */
  | {
      readonly kind: 'egress';
      readonly name: string;
      readonly port: number;
      readonly app: string;
      readonly podIp: string;
    }
  /** A reverse proxy to one app for callers outside the mesh (source = the caller's address). */
  | { readonly kind: 'ingress'; readonly name: string; readonly port: number; readonly app: string };

export interface DevDataPlaneOptions {
  /** `host:port` of the agent's ext_authz gRPC listener. */
  readonly authzTarget: string;
  /** ext_authz `grpc_service.timeout`. */
  readonly timeoutMs: number;
  readonly withRequestBody: WithRequestBody;
  readonly routes: readonly AppRoute[];
  readonly listeners: readonly ListenerSpec[];
  /** Listen address (default 127.0.0.1). */
  readonly host?: string;
  /** Context extensions per listener kind (the rendered routes' `casa_listener`). */
  readonly contextExtensions?: (l: ListenerSpec) => Record<string, string>;
  /** One event per request (the dev console and the demo read these). */
  readonly onExchange?: (e: ExchangeEvent) => void;
}

export type ExchangeOutcome =
  | 'allowed'
  | 'denied'
  | 'authz_failed'
  | 'payload_too_large'
  | 'upstream_failed'
  | 'loop';

/** What happened to one request; never carries a token value. */
export interface ExchangeEvent {
  readonly listener: string;
  readonly streamId: string;
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  /** The source app, or the caller's address. */
  readonly source: string;
  /** The destination app, or the authority when it is no MAS app. */
  readonly destination: string;
  readonly outcome: ExchangeOutcome;
  /** Status sent to the client (the upstream's when allowed). */
  readonly status: number;
  /** The deny body's `error` (reason code), when it has one. */
  readonly reason?: string;
  /** Why the Check itself failed (outcome authz_failed). */
  readonly authzError?: string;
  readonly injected: readonly InjectedHeader[];
  readonly removed: readonly string[];
  readonly checkMs: number;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'http2-settings',
]);

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

export interface DevDataPlaneListening {
  readonly name: string;
  readonly kind: ListenerSpec['kind'];
  readonly app: string;
  readonly port: number;
}

export class DevDataPlane {
  private readonly authz: AuthzChannel;
  private readonly routes = new Map<string, AppRoute>();
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly ownPorts = new Set<number>();
  private nextStream = 1n;
  private closed = false;
  listening: DevDataPlaneListening[] = [];

  constructor(private readonly opts: DevDataPlaneOptions) {
    this.authz = new AuthzChannel(opts.authzTarget);
    for (const r of opts.routes) this.routes.set(r.authority.toLowerCase(), r);
  }

  async start(): Promise<DevDataPlaneListening[]> {
    const host = this.opts.host ?? '127.0.0.1';
    for (const l of this.opts.listeners) {
      const port = await this.listen(l, host);
      this.ownPorts.add(port);
      this.listening.push({ name: l.name, kind: l.kind, app: l.app, port });
    }
    return this.listening;
  }

  /** Stops listening, cuts every connection (long-lived streams included). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
    this.upstreamAgent.destroy();
    this.authz.close();
    await Promise.all(closing);
  }

  private async listen(l: ListenerSpec, host: string): Promise<number> {
    const handler = (req: AnyRequest, res: AnyResponse) => {
      this.handle(l, req, res).catch(() => {
        if (!res.headersSent) send(res, 500, [['content-type', 'text/plain']], 'dev data plane error');
        else res.destroy();
      });
    };
    const h1 = http.createServer(handler);
    h1.keepAliveTimeout = 5_000;
    const h2 = http2.createServer({}, handler);
    h2.on('session', (s) => {
      this.sessions.add(s);
      s.once('close', () => this.sessions.delete(s));
    });
    // One port, both protocols: HTTP/2 with prior knowledge (h2c) starts with its preface.
    const tcp = net.createServer((sock) => {
      this.sockets.add(sock);
      sock.once('close', () => this.sockets.delete(sock));
      sock.once('data', (first) => {
        sock.pause();
        sock.unshift(first);
        if (first.length >= 3 && first.toString('latin1', 0, 3) === 'PRI') {
          // http2 reads what is already buffered on the socket itself.
          h2.emit('connection', sock);
        } else {
          h1.emit('connection', sock);
          sock.resume();
        }
      });
      sock.on('error', () => sock.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(l.port, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.servers.push(tcp);
    return (tcp.address() as AddressInfo).port;
  }

  private async handle(l: ListenerSpec, req: AnyRequest, res: AnyResponse): Promise<void> {
    const protocol = req.httpVersionMajor === 2 ? 'HTTP/2' : 'HTTP/1.1';
    const { authority, path } = target(req);
    const route = l.kind === 'ingress' ? this.routeByApp(l.app) : this.routes.get(authority.toLowerCase());
    const remote: PeerAddress = {
      ip: stripMapped(req.socket?.remoteAddress ?? '127.0.0.1'),
      port: req.socket?.remotePort ?? 0,
    };
    const source: PeerAddress = l.kind === 'egress' ? { ip: l.podIp, port: remote.port } : remote;
    const destination: PeerAddress = route
      ? { ip: route.podIp, port: route.podPort }
      : { ip: net.isIP(hostOf(authority)) ? hostOf(authority) : '0.0.0.0', port: portOf(authority) };
    const headers = regularHeaders(req);
    // What Envoy's connection manager adds before any filter runs.
    if (!headers.some(([k]) => k === 'x-request-id')) headers.push(['x-request-id', randomUUID()]);
    removeAllHeaders(headers, 'x-forwarded-proto');
    headers.push(['x-forwarded-proto', 'http']);

    const streamId = String(this.nextStream++);
    const base = {
      listener: l.name,
      streamId,
      protocol,
      method: req.method ?? 'GET',
      path,
      authority,
      source: l.kind === 'egress' ? l.app : remote.ip,
      destination: route?.app ?? authority,
    } as const;

    const withBody = this.opts.withRequestBody;
    const body = await bufferBody(req, withBody.maxRequestBytes);
    if (body.tooLarge && !withBody.allowPartialMessage) {
      // The filter's decoder buffer limit: Envoy answers 413 itself.
      send(res, 413, [['content-type', 'text/plain']], 'Payload Too Large');
      this.emit({
        ...base,
        outcome: 'payload_too_large',
        status: 413,
        injected: [],
        removed: [],
        checkMs: 0,
      });
      return;
    }
    const seen: SeenRequest = {
      streamId,
      method: base.method,
      path,
      authority,
      scheme: 'http',
      protocol,
      headers,
      source,
      destination,
      body:
        withBody.maxRequestBytes <= 0 || (body.ended && body.bytes === 0 && !hasBodyHeaders(req))
          ? undefined
          : body.data,
      bytesReceived: body.bytes,
      contextExtensions: this.opts.contextExtensions?.(l) ?? {},
      at: new Date(),
    };
    const started = performance.now();
    const call = await this.authz.check(checkRequestMessage(seen, withBody), this.opts.timeoutMs);
    const checkMs = Math.round((performance.now() - started) * 1000) / 1000;
    if (!call.ok) {
      // failure_mode_allow: false, status_on_error: Forbidden — an empty 403.
      send(res, 403, [], '');
      this.emit({
        ...base,
        outcome: 'authz_failed',
        status: 403,
        authzError: `${call.error}: ${call.detail}`,
        injected: [],
        removed: [],
        checkMs,
      });
      return;
    }
    const verdict = verdictOf(call.response);
    if (verdict.kind === 'deny') {
      const out: HeaderList = [];
      applyMutations(out, verdict.headers);
      send(res, verdict.status, out, verdict.body);
      this.emit({
        ...base,
        outcome: 'denied',
        status: verdict.status,
        reason: reasonOf(verdict.body),
        injected: [],
        removed: [],
        checkMs,
      });
      return;
    }
    removeHeaders(headers, verdict.headersToRemove);
    applyMutations(headers, verdict.headers);
    const injected = describeInjected(verdict.headers);
    const removed = [...verdict.headersToRemove];
    const upstreamPath = applyQuery(path, verdict.queryToSet, verdict.queryToRemove);
    const upstream = route?.upstream ?? { host: hostOf(authority), port: portOf(authority) };
    if (!route && upstream.host === '127.0.0.1' && this.ownPorts.has(upstream.port)) {
      send(res, 508, [['content-type', 'text/plain']], 'dev data plane: request addressed to itself');
      this.emit({ ...base, outcome: 'loop', status: 508, injected, removed, checkMs });
      return;
    }
    headers.push(['host', authority]);
    const status = await this.forward(req, res, body.chunks, upstream, upstreamPath, headers, verdict);
    this.emit({
      ...base,
      outcome: status === 503 && !res.headersSent ? 'upstream_failed' : 'allowed',
      status,
      injected,
      removed,
      checkMs,
    });
  }

  private forward(
    req: AnyRequest,
    res: AnyResponse,
    buffered: readonly Buffer[],
    upstream: { host: string; port: number },
    path: string,
    headers: HeaderList,
    verdict: Extract<CheckVerdict, { kind: 'allow' }>,
  ): Promise<number> {
    return new Promise((resolve) => {
      const up = http.request({
        host: upstream.host,
        port: upstream.port,
        method: req.method,
        path,
        headers: toObject(headers),
        agent: this.upstreamAgent,
      });
      up.on('response', (ur) => {
        const out: HeaderList = [];
        for (let i = 0; i + 1 < ur.rawHeaders.length; i += 2) {
          const k = (ur.rawHeaders[i] ?? '').toLowerCase();
          if (!HOP_BY_HOP.has(k)) out.push([k, ur.rawHeaders[i + 1] ?? '']);
        }
        applyMutations(out, verdict.responseHeaders);
        const status = ur.statusCode ?? 502;
        res.writeHead(status, toObject(out));
        // Streams (SSE) must reach the client before their first event.
        if ('flushHeaders' in res) res.flushHeaders();
        ur.pipe(res as NodeJS.WritableStream);
        ur.on('error', () => res.destroy());
        resolve(status);
      });
      up.on('error', () => {
        if (!res.headersSent) {
          send(
            res,
            503,
            [['content-type', 'text/plain']],
            'upstream connect error or disconnect/reset before headers',
          );
        } else res.destroy();
        resolve(503);
      });
      res.on('close', () => {
        if (!up.writableFinished || !res.writableFinished) up.destroy();
      });
      for (const c of buffered) up.write(c);
      if (req.readableEnded) up.end();
      else {
        req.pipe(up);
        req.resume();
      }
    });
  }

  private routeByApp(app: string): AppRoute | undefined {
    for (const r of this.routes.values()) if (r.app === app) return r;
    return undefined;
  }

  private emit(e: ExchangeEvent): void {
    try {
      this.opts.onExchange?.(e);
    } catch {
      // An observer never affects traffic.
    }
  }
}

/** `:authority` and `:path`: from an absolute-form request line (forward proxy) or the Host. */
function target(req: AnyRequest): { authority: string; path: string } {
  const url = req.url ?? '/';
  if (/^https?:\/\//i.test(url)) {
    const u = new URL(url);
    return { authority: u.host, path: `${u.pathname}${u.search}` };
  }
  const h2 = (req as Http2ServerRequest).authority;
  const authority = typeof h2 === 'string' && h2 !== '' ? h2 : (req.headers.host ?? '');
  return { authority, path: url };
}

/** Lower-case names, arrival order, no pseudo-headers and no hop-by-hop headers. */
function regularHeaders(req: AnyRequest): HeaderList {
  const out: HeaderList = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = (raw[i] ?? '').toLowerCase();
    if (k.startsWith(':') || HOP_BY_HOP.has(k)) continue;
    out.push([k, raw[i + 1] ?? '']);
  }
  return out;
}

function removeAllHeaders(h: HeaderList, name: string): void {
  for (let i = h.length - 1; i >= 0; i--) if (h[i]?.[0] === name) h.splice(i, 1);
}

function hasBodyHeaders(req: AnyRequest): boolean {
  const len = req.headers['content-length'];
  return (typeof len === 'string' && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

interface Buffered {
  readonly chunks: Buffer[];
  readonly data: Uint8Array;
  readonly bytes: number;
  readonly ended: boolean;
  readonly tooLarge: boolean;
}

/**
 * Buffers the body until it ends or `max` bytes arrived (then the stream is
 * paused; the rest is forwarded after the Check), as the filter does with
 * `with_request_body`.
 */
function bufferBody(req: AnyRequest, max: number): Promise<Buffered> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    if (max <= 0) {
      // No with_request_body: the Check goes out right after the headers.
      resolve({ chunks, data: new Uint8Array(0), bytes: 0, ended: req.readableEnded, tooLarge: false });
      return;
    }
    let bytes = 0;
    const done = (ended: boolean) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      resolve({ chunks, data, bytes, ended, tooLarge: !ended && bytes >= max });
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      bytes += c.length;
      if (bytes >= max && max > 0) {
        req.pause();
        done(false);
      }
    };
    const onEnd = () => done(true);
    const onError = (e: Error) => reject(e);
    if (req.readableEnded) return done(true);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function send(res: AnyResponse, status: number, headers: HeaderList, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const h = toObject(headers.filter(([k]) => k !== 'content-length' && !HOP_BY_HOP.has(k)));
  h['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, h);
  res.end(body);
}

function toObject(headers: HeaderList): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of headers) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function reasonOf(body: string): string | undefined {
  try {
    const j = JSON.parse(body) as { error?: unknown };
    return typeof j.error === 'string' ? j.error : undefined;
  } catch {
    return undefined;
  }
}

function hostOf(authority: string): string {
  if (authority.startsWith('[')) return authority.slice(1, authority.indexOf(']'));
  const i = authority.lastIndexOf(':');
  return i < 0 ? authority : authority.slice(0, i);
}

function portOf(authority: string): number {
  const m = /:(\d+)$/.exec(authority);
  return m ? Number(m[1]) : 80;
}

function stripMapped(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export type { HeaderMutation };
