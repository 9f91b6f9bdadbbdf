// HTTP to the runtime: one keep-alive undici Pool per origin, a deadline per
// call (config `runtimeTimeout`, combined with the caller's signal, covering
// the wait for a slot, the request and the body), bounded concurrency with a
// bounded queue (CallGate), and a hard cap on response bytes. Transport
// failures become RuntimeErrors here; status codes and bodies are judged by
// response.ts. No message ever carries a request or response body.
import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { CallGate, type CallGateStats } from './call-gate.js';
import { type CallOptions, RuntimeError, type RuntimeErrorKind } from './runtime-client.js';

/** Default cap on a runtime response body. Claims and token responses are a few KiB. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

// Below uvicorn's 5 s keep-alive (the shipped runtime), so the pool drops an
// idle connection before the server does and a POST never races a closing socket.
const KEEP_ALIVE_MS = 4_000;

export interface RuntimeTransportOptions {
  /** Deadline of one call in ms (config `runtimeTimeout`). */
  readonly timeoutMs: number;
  /** Calls in flight at most, across every origin (config `runtimeConcurrency`). */
  readonly concurrency: number;
  /** Calls waiting at most (config `runtimeQueue`). */
  readonly queue: number;
  readonly maxBodyBytes?: number;
  /** TLS settings for https runtimes (e.g. a private CA). */
  readonly tls?: { readonly ca?: string | Buffer; readonly servername?: string };
  /** Called once per finished call with its outcome: 'ok' or a RuntimeError kind. */
  readonly observe?: (op: string, outcome: 'ok' | RuntimeErrorKind, durationMs: number) => void;
}

export interface RuntimeRequest {
  /** Operation name for messages and metrics (introspect, exchange, …). */
  readonly op: string;
  readonly url: URL;
  readonly method: 'GET' | 'POST';
  readonly form?: URLSearchParams;
  readonly json?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RuntimeResponse {
  readonly status: number;
  /** The media type, lower-cased, without parameters. */
  readonly mediaType: string | undefined;
  readonly body: Buffer;
}

export class RuntimeTransport {
  readonly #opts: RuntimeTransportOptions;
  readonly #maxBody: number;
  readonly #gate: CallGate;
  readonly #pools = new Map<string, Pool>();
  #closed = false;

  constructor(opts: RuntimeTransportOptions) {
    if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) {
      throw new RangeError(`runtimeTimeout: expected a positive duration, got ${opts.timeoutMs}`);
    }
    this.#opts = opts;
    this.#maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#gate = new CallGate({ concurrency: opts.concurrency, queue: opts.queue });
  }

  get stats(): CallGateStats & { readonly origins: number } {
    return { ...this.#gate.stats, origins: this.#pools.size };
  }

  /**
   * Runs `fn` (one request plus the parsing of its response) under one
   * deadline and reports its outcome to `observe`.
   */
  async call<T>(op: string, opts: CallOptions | undefined, fn: (send: Send) => Promise<T>): Promise<T> {
    const started = performance.now();
    const deadline = new Deadline(this.#opts.timeoutMs, opts?.signal);
    try {
      const value = await fn((req) => this.#send(req, deadline));
      this.#opts.observe?.(op, 'ok', performance.now() - started);
      return value;
    } catch (e) {
      // Anything else is a bug on our side (e.g. an empty app id): still a RuntimeError, so the Check denies.
      const err =
        e instanceof RuntimeError
          ? e
          : new RuntimeError(
              'bad_response',
              `runtime ${op}: ${e instanceof RangeError ? e.message : describe(e)}`,
            );
      this.#opts.observe?.(op, err.kind, performance.now() - started);
      throw err;
    } finally {
      deadline.dispose();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#gate.refuseAll('close');
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }

  async #send(req: RuntimeRequest, deadline: Deadline): Promise<RuntimeResponse> {
    const { op } = req;
    if (this.#closed) throw new RuntimeError('unavailable', `runtime ${op}: client closed`);
    const release = await this.#gate.acquire(op, deadline.signal);
    try {
      return await this.#exchange(req, deadline);
    } finally {
      release();
    }
  }

  async #exchange(req: RuntimeRequest, deadline: Deadline): Promise<RuntimeResponse> {
    const { op } = req;
    const where = `${req.method} ${req.url.pathname}`;
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    let body: string | undefined;
    if (req.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = req.form.toString();
    } else if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    }
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await this.#pool(req.url).request({
        method: req.method,
        path: req.url.pathname + req.url.search,
        headers,
        body,
        signal: deadline.signal,
      });
    } catch (e) {
      if (deadline.signal.aborted) throw deadline.error(op, where);
      throw new RuntimeError(connectKind(e), `runtime ${op}: ${where}: ${describe(e)}`);
    }
    const status = res.statusCode;
    const declared = Number(first(res.headers['content-length']));
    if (Number.isFinite(declared) && declared > this.#maxBody) {
      res.body.destroy();
      throw new RuntimeError(
        'bad_response',
        `runtime ${op}: ${where}: response of ${declared} bytes exceeds the ${this.#maxBody}-byte limit`,
        status,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        const b = chunk as Buffer;
        size += b.length;
        if (size > this.#maxBody) {
          // Stop reading: destroying the body aborts the request and frees the socket.
          res.body.destroy();
          throw new RuntimeError(
            'bad_response',
            `runtime ${op}: ${where}: response exceeds the ${this.#maxBody}-byte limit`,
            status,
          );
        }
        chunks.push(b);
      }
    } catch (e) {
      if (e instanceof RuntimeError) throw e;
      if (deadline.signal.aborted) throw deadline.error(op, where);
      throw new RuntimeError(
        'bad_response',
        `runtime ${op}: ${where}: response body cut off (${describe(e)})`,
        status,
      );
    }
    return { status, mediaType: mediaType(res.headers), body: Buffer.concat(chunks, size) };
  }

  #pool(url: URL): Pool {
    const origin = url.origin;
    let pool = this.#pools.get(origin);
    if (!pool) {
      const t = this.#opts.timeoutMs;
      pool = new Pool(origin, {
        connections: this.#opts.concurrency,
        pipelining: 1,
        keepAliveTimeout: KEEP_ALIVE_MS,
        // Our deadline fires first; undici's own timers are a backstop.
        headersTimeout: t + 1_000,
        bodyTimeout: t + 1_000,
        connect: { timeout: t, ...this.#opts.tls },
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }
}

export type Send = (req: RuntimeRequest) => Promise<RuntimeResponse>;

/** The per-call deadline joined with the caller's signal, without AbortSignal.any's listeners piling up. */
class Deadline {
  readonly #ctl = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #caller: AbortSignal | undefined;
  #byCaller = false;
  readonly #onCaller = (): void => {
    this.#byCaller = true;
    this.#ctl.abort();
  };

  constructor(ms: number, caller: AbortSignal | undefined) {
    this.#timer = setTimeout(() => this.#ctl.abort(), ms);
    this.#caller = caller;
    if (caller?.aborted) this.#onCaller();
    else caller?.addEventListener('abort', this.#onCaller, { once: true });
  }

  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  error(op: string, where: string): RuntimeError {
    const who = this.#byCaller ? "the caller's deadline" : 'the runtime call deadline';
    return new RuntimeError('timeout', `runtime ${op}: ${where}: ${who} expired`);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    // The listener is `once`; removing it matters when the caller's signal outlives the call.
    this.#caller?.removeEventListener('abort', this.#onCaller);
  }
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function mediaType(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
): string | undefined {
  const ct = first(headers['content-type']);
  if (!ct) return undefined;
  return ct.split(';', 1)[0]?.trim().toLowerCase();
}

/** The error code or class of a transport error; never its full message (it may echo a URL or body). */
function describe(e: unknown): string {
  if (e && typeof e === 'object') {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'unknown error';
}

function connectKind(e: unknown): RuntimeErrorKind {
  const code = e && typeof e === 'object' ? (e as { code?: unknown }).code : undefined;
  return code === 'UND_ERR_HEADERS_TIMEOUT' ? 'timeout' : 'unavailable';
}
