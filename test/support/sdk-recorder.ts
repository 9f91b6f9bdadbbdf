// A recording reverse proxy for the SDK conformance suites: the official MCP
// and A2A clients talk to their servers through it, and it keeps every
// request exactly as Envoy's ext_authz filter would see it — method, raw path,
// lower-cased headers with the HTTP/2 pseudo-headers, and the whole body —
// while forwarding the request to the upstream unchanged and streaming the
// response back (SSE streams stay open as long as the client keeps them).
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpRequestAttributes } from '../../src/policy/request.js';

/** One request as it reached the proxy. */
export interface RecordedRequest {
  /** Order of arrival, from 0. */
  readonly seq: number;
  /** The client step that was running when the request arrived (see `RecordingProxy.step`). */
  readonly step: string;
  readonly method: string;
  /** The request-target as sent, never normalized. */
  readonly path: string;
  /**
   * Lower-case names, repeated headers joined with ',' — the header map of
   * Envoy's CheckRequest: `:authority` instead of `host`, `:method`, `:path`,
   * `:scheme`, the headers Envoy's connection manager adds before ext_authz
   * (`x-forwarded-proto`, `x-request-id`), and without the hop-by-hop headers
   * it strips (RFC 9110 §7.6.1).
   */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
  /** Status the upstream answered (undefined while it has not answered). */
  status?: number;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
]);

/** The request as the policy reads it (`HttpRequestAttributes`), body complete (never cut). */
export function toAttributes(
  r: RecordedRequest,
  extraHeaders: Record<string, string> = {},
): HttpRequestAttributes {
  const headers = new Map(r.headers);
  for (const [k, v] of Object.entries(extraHeaders)) headers.set(k.toLowerCase(), v);
  return {
    method: r.method,
    path: r.path,
    host: r.headers.get(':authority') ?? '',
    scheme: 'http',
    headers,
    body: r.body.length > 0 ? { data: r.body, truncated: false } : undefined,
  };
}

export class RecordingProxy {
  readonly #server: Server;
  readonly #agent = new Agent({ keepAlive: true });
  readonly #recorded: RecordedRequest[] = [];
  #upstream: URL | undefined;
  #step = '';
  #port = 0;

  private constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** Listens on 127.0.0.1, port 0. Set the upstream with `forwardTo` before the first request. */
  static async start(): Promise<RecordingProxy> {
    const p = new RecordingProxy();
    await new Promise<void>((resolve, reject) => {
      p.#server.once('error', reject);
      p.#server.listen(0, '127.0.0.1', () => resolve());
    });
    p.#port = (p.#server.address() as AddressInfo).port;
    return p;
  }

  /** `http://127.0.0.1:<port>`: what the clients are given. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Where requests go: scheme, host and port of `upstream` (its path is not used). */
  forwardTo(upstream: string | URL): void {
    this.#upstream = new URL(upstream);
  }

  /** Labels the requests that arrive from now on (e.g. the SDK call being made). */
  step(name: string): void {
    this.#step = name;
  }

  /** Every request so far, in order of arrival. */
  get requests(): readonly RecordedRequest[] {
    return this.#recorded;
  }

  /** Requests recorded since `from` (a previous `requests.length`). */
  since(from: number): RecordedRequest[] {
    return this.#recorded.slice(from);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    this.#agent.destroy();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const rec = this.#record(req, Buffer.concat(chunks));
      this.#forward(req, rec, res);
    });
  }

  #record(req: IncomingMessage, body: Buffer): RecordedRequest {
    const headers = new Map<string, string>();
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    headers.set(':method', method);
    headers.set(':path', path);
    headers.set(':scheme', 'http');
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      const value = raw[i + 1] as string;
      if (HOP_BY_HOP.has(name)) continue;
      const key = name === 'host' ? ':authority' : name;
      const prev = headers.get(key);
      headers.set(key, prev === undefined ? value : `${prev},${value}`);
    }
    if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', 'http');
    if (!headers.has('x-request-id')) headers.set('x-request-id', randomUUID());
    const rec: RecordedRequest = {
      seq: this.#recorded.length,
      step: this.#step,
      method,
      path,
      headers,
      body: new Uint8Array(body),
    };
    this.#recorded.push(rec);
    return rec;
  }

  #forward(req: IncomingMessage, rec: RecordedRequest, res: ServerResponse): void {
    const up = this.#upstream;
    if (up === undefined) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end('recording proxy: no upstream');
      return;
    }
    const out = httpRequest(
      {
        host: up.hostname,
        port: up.port,
        method: req.method,
        path: req.url,
        // Unchanged, as the client sent them (Host included).
        headers: req.headers,
        agent: this.#agent,
      },
      (upRes) => {
        rec.status = upRes.statusCode;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        // Event streams must reach the client as they are written.
        res.flushHeaders();
        upRes.pipe(res);
        upRes.on('error', () => res.destroy());
      },
    );
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream error');
      else res.destroy();
    });
    // The client went away (e.g. closed its SSE stream): so does the upstream request.
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    out.end(Buffer.from(rec.body));
  }
}
