// Fault injection for the reference runtime (an in-process test hook, never
// reachable over HTTP). Each fault reproduces one way a real runtime or the
// network between fails, byte for byte on the wire.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type RuntimeFault =
  /** Answer normally, after `ms`. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Answer with this status and body (default: a FastAPI-like 500 text/plain). */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body?: string;
      readonly contentType?: string;
    }
  /** 200 with an HTML page (a proxy's error page). */
  | { readonly kind: 'html' }
  /** 200 JSON whose Content-Length promises more than is sent; the connection then closes. */
  | { readonly kind: 'truncated_json' }
  /** A complete 200 response whose JSON text is cut in the middle. */
  | { readonly kind: 'malformed_json' }
  /** A 200 JSON body of `bytes` bytes; `declareLength` sends Content-Length, else chunked. */
  | { readonly kind: 'oversized'; readonly bytes: number; readonly declareLength?: boolean }
  /** 200 JSON with wrong types for every field the endpoints return. */
  | { readonly kind: 'wrong_types' }
  /** Close the connection without answering (FIN). */
  | { readonly kind: 'close_socket' }
  /** Reset the connection without answering (RST). */
  | { readonly kind: 'reset' };

export type RuntimeEndpoint =
  | 'token'
  | 'token_exchange'
  | 'introspect'
  | 'store_token'
  | 'load_token'
  | 'user_inputs'
  | 'client_metadata'
  | 'jwks'
  | 'health'
  | 'not_found';

export interface FaultScope {
  /** Endpoints the fault applies to (default: all). */
  readonly endpoints?: readonly RuntimeEndpoint[];
  /** How many requests it applies to (default: until removed). */
  readonly times?: number;
}

export interface FaultHandle {
  remove(): void;
}

interface ActiveFault {
  readonly fault: RuntimeFault;
  readonly endpoints?: ReadonlySet<RuntimeEndpoint>;
  remaining: number;
}

export class FaultPlan {
  #faults: ActiveFault[] = [];

  add(fault: RuntimeFault, scope: FaultScope = {}): FaultHandle {
    const f: ActiveFault = {
      fault,
      endpoints: scope.endpoints ? new Set(scope.endpoints) : undefined,
      remaining: scope.times ?? Number.POSITIVE_INFINITY,
    };
    this.#faults.push(f);
    return {
      remove: () => {
        this.#faults = this.#faults.filter((x) => x !== f);
      },
    };
  }

  clear(): void {
    this.#faults = [];
  }

  /** The first fault that applies to `endpoint`, consuming one of its uses. */
  take(endpoint: RuntimeEndpoint): RuntimeFault | undefined {
    const f = this.#faults.find((x) => x.remaining > 0 && (!x.endpoints || x.endpoints.has(endpoint)));
    if (!f) return undefined;
    f.remaining--;
    if (f.remaining <= 0) this.#faults = this.#faults.filter((x) => x !== f);
    return f.fault;
  }
}

const WRONG_TYPES = JSON.stringify({
  active: 'true',
  scope: 7,
  exp: 'in five minutes',
  tools: 'get_balance',
  sub: ['x'],
  access_token: 12345,
  status: false,
  keys: 'none',
});

const HTML =
  '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>';

/**
 * Answers `res` according to `fault` (all kinds except `delay`, which the
 * server handles by waiting). Resolves when the bytes are written.
 */
export async function applyFault(
  fault: RuntimeFault,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  switch (fault.kind) {
    case 'delay':
      return;
    case 'status': {
      const body = fault.body ?? 'Internal Server Error';
      res.writeHead(fault.status, { 'content-type': fault.contentType ?? 'text/plain; charset=utf-8' });
      res.end(body);
      return;
    }
    case 'html':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(HTML);
      return;
    case 'truncated_json': {
      const body = '{"active":true,"scope":"openid offline_access call-tools","access_token":"';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length + 400) });
      res.write(body, () => req.socket.destroy());
      return;
    }
    case 'malformed_json': {
      const body = '{"active":true,"scope":"openid offl';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    case 'oversized':
      await writeOversized(res, fault.bytes, fault.declareLength ?? false);
      return;
    case 'wrong_types':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(WRONG_TYPES);
      return;
    case 'close_socket':
      req.socket.destroy();
      return;
    case 'reset':
      req.socket.resetAndDestroy();
      return;
  }
}

/** A valid-looking JSON object of exactly `bytes` bytes, streamed in 64 KiB chunks. */
async function writeOversized(res: ServerResponse, bytes: number, declareLength: boolean): Promise<void> {
  const head = '{"access_token":"';
  const tail = '"}';
  const fill = Math.max(0, bytes - head.length - tail.length);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (declareLength) headers['content-length'] = String(head.length + fill + tail.length);
  res.writeHead(200, headers);
  res.write(head);
  const chunk = 'a'.repeat(64 * 1024);
  let left = fill;
  while (left > 0 && !res.destroyed) {
    const part = left >= chunk.length ? chunk : chunk.slice(0, left);
    left -= part.length;
    if (!res.write(part)) {
      // Respect backpressure; a client that stops reading closes the socket.
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end(tail);
}
