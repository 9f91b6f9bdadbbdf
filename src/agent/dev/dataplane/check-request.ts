// Builds the ext_authz v3 CheckRequest the way Envoy's ext_authz HTTP filter
// does (source/extensions/filters/common/ext_authz/check_request_utils.cc):
// `id` is the stream id, `size` the bytes received so far, `headers` the
// request header map at the filter — lower-case names, the pseudo-headers
// `:authority`, `:path`, `:method`, `:scheme`, the `x-request-id` and
// `x-forwarded-proto` the connection manager adds, repeated headers joined
// with "," — and, with `with_request_body`, the first `max_request_bytes`
// of the body as `raw_body` (pack_as_bytes) or `body`, plus the
// `x-envoy-auth-partial-body` metadata header. Pure: no I/O.

/** The filter's `with_request_body` block. */
export interface WithRequestBody {
  readonly maxRequestBytes: number;
  readonly allowPartialMessage: boolean;
  readonly packAsBytes: boolean;
}

export interface PeerAddress {
  readonly ip: string;
  readonly port: number;
}

/** One request as the data plane saw it, before any mutation. */
export interface SeenRequest {
  readonly streamId: string;
  readonly method: string;
  /** `:path`, with the query. */
  readonly path: string;
  /** `:authority`. */
  readonly authority: string;
  readonly scheme: 'http';
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  /** Regular headers (no pseudo-headers, no hop-by-hop), names lower-case, in arrival order. */
  readonly headers: readonly (readonly [string, string])[];
  readonly source: PeerAddress;
  readonly destination: PeerAddress;
  /**
   * Body bytes buffered when the Check is sent; undefined for a request that
   * ended with its headers (Envoy sends no body then).
   */
  readonly body?: Uint8Array;
  /** Bytes of body received so far (the buffer may hold more than max_request_bytes). */
  readonly bytesReceived: number;
  readonly contextExtensions: Readonly<Record<string, string>>;
  readonly at: Date;
}

/** Envoy's metadata header telling the service whether the body was cut. */
export const PARTIAL_BODY_HEADER = 'x-envoy-auth-partial-body';

/** The CheckRequest as proto-loader takes it (keepCase, longs as strings). */
export function checkRequestMessage(req: SeenRequest, withBody: WithRequestBody): Record<string, unknown> {
  const headers: Record<string, string> = {
    ':authority': req.authority,
    ':path': req.path,
    ':method': req.method,
    ':scheme': req.scheme,
  };
  for (const [k, v] of req.headers) {
    const prev = headers[k];
    headers[k] = prev === undefined ? v : `${prev},${v}`;
  }
  const http: Record<string, unknown> = {
    id: req.streamId,
    method: req.method,
    headers,
    path: req.path,
    host: req.authority,
    scheme: req.scheme,
    size: String(req.bytesReceived),
    protocol: req.protocol,
  };
  if (req.body !== undefined && withBody.maxRequestBytes > 0) {
    const length = Math.min(req.body.length, withBody.maxRequestBytes);
    const data = Buffer.from(req.body.buffer, req.body.byteOffset, length);
    if (withBody.packAsBytes) http.raw_body = data;
    else http.body = data.toString('utf8');
    // Envoy compares the copied length with the buffered length, not with the
    // whole body: a buffer that is exactly full reads "false" (a quirk kept on purpose).
    headers[PARTIAL_BODY_HEADER] = length !== req.body.length ? 'true' : 'false';
  }
  const ms = req.at.getTime();
  return {
    attributes: {
      source: peer(req.source),
      destination: peer(req.destination),
      request: {
        time: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 },
        http,
      },
      context_extensions: { ...req.contextExtensions },
    },
  };
}

function peer(p: PeerAddress): Record<string, unknown> {
  return { address: { socket_address: { address: p.ip, port_value: p.port } } };
}
