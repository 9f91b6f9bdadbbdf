// Turns an Envoy ext_authz v3 CheckRequest (as decoded by proto-loader with
// keepCase, longs/enums as strings) into plain request attributes. Untrusted
// input: every field is checked for its type; a malformed request is an error
// the service answers with a deny, never a guess.

/** The subset of AttributeContext we read, as proto-loader decodes it. */
export interface CheckRequestMessage {
  attributes?: {
    source?: PeerMessage | null;
    destination?: PeerMessage | null;
    request?: { http?: HttpRequestMessage | null } | null;
    context_extensions?: Record<string, string> | null;
  } | null;
}

interface PeerMessage {
  address?: { socket_address?: { address?: string; port_value?: number } | null } | null;
  principal?: string;
  labels?: Record<string, string> | null;
}

interface HttpRequestMessage {
  id?: string;
  method?: string;
  headers?: Record<string, string> | null;
  header_map?: { headers?: { key?: string; value?: string; raw_value?: Buffer | Uint8Array }[] } | null;
  path?: string;
  host?: string;
  scheme?: string;
  query?: string;
  fragment?: string;
  size?: string | number;
  protocol?: string;
  body?: string;
  raw_body?: Buffer | Uint8Array;
}

export interface SocketAddress {
  readonly ip: string;
  readonly port?: number;
}

/** What the authorization flow needs from a CheckRequest. */
export interface CheckInput {
  readonly requestId?: string;
  readonly method: string;
  /** Raw `:path` (with query), exactly as Envoy saw it. */
  readonly path: string;
  /** `:authority`, as sent by the client. */
  readonly host: string;
  readonly scheme?: string;
  /** Lower-case header names; Envoy joins repeated headers with ','. */
  readonly headers: ReadonlyMap<string, string>;
  /** Request body as Envoy buffered it; absent when Envoy sent none. */
  readonly body?: { readonly data: Uint8Array; readonly truncated: boolean };
  readonly source?: SocketAddress;
  readonly destination?: SocketAddress;
  readonly contextExtensions: Readonly<Record<string, string>>;
  readonly sourcePrincipal?: string;
}

export class MalformedCheckRequest extends Error {
  override name = 'MalformedCheckRequest';
}

// Envoy's signal that `with_request_body.allow_partial_message` cut the body.
const PARTIAL_BODY_HEADER = 'x-envoy-auth-partial-body';
const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

export function parseCheckRequest(msg: CheckRequestMessage): CheckInput {
  const attrs = msg?.attributes;
  const http = attrs?.request?.http;
  if (!attrs || !http) throw new MalformedCheckRequest('CheckRequest has no attributes.request.http');

  const headers = readHeaders(http);
  const method = str(http.method, 'method') || headers.get(':method') || '';
  const path = str(http.path, 'path') || headers.get(':path') || '';
  const host = str(http.host, 'host') || headers.get(':authority') || headers.get('host') || '';
  if (method === '') throw new MalformedCheckRequest('CheckRequest http.method is empty');
  if (path === '') throw new MalformedCheckRequest('CheckRequest http.path is empty');

  let body: CheckInput['body'];
  const truncated = headers.get(PARTIAL_BODY_HEADER) === 'true';
  if (http.raw_body !== undefined && http.raw_body !== null && http.raw_body.length > 0) {
    if (!(http.raw_body instanceof Uint8Array))
      throw new MalformedCheckRequest('CheckRequest http.raw_body is not bytes');
    body = { data: http.raw_body, truncated };
  } else if (typeof http.body === 'string' && http.body.length > 0) {
    body = { data: Buffer.from(http.body, 'utf8'), truncated };
  } else if (http.body !== undefined && http.body !== null && typeof http.body !== 'string') {
    throw new MalformedCheckRequest('CheckRequest http.body is not a string');
  }

  return {
    requestId: str(http.id, 'id') || undefined,
    method: method.toUpperCase(),
    path,
    host,
    scheme: str(http.scheme, 'scheme') || undefined,
    headers,
    body,
    source: socket(attrs.source, 'source'),
    destination: socket(attrs.destination, 'destination'),
    contextExtensions: attrs.context_extensions ?? EMPTY,
    sourcePrincipal: attrs.source?.principal || undefined,
  };
}

function str(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new MalformedCheckRequest(`CheckRequest http.${field} is not a string`);
  return v;
}

function readHeaders(http: HttpRequestMessage): Map<string, string> {
  const out = new Map<string, string>();
  const add = (k: string, v: string) => {
    const key = k.toLowerCase();
    const prev = out.get(key);
    // Same joining rule Envoy applies to its `headers` map.
    out.set(key, prev === undefined ? v : `${prev},${v}`);
  };
  const map = http.header_map?.headers;
  if (Array.isArray(map) && map.length > 0) {
    // `encode_raw_headers: true` sends a HeaderMap; values may be raw bytes.
    for (const h of map) {
      if (typeof h.key !== 'string')
        throw new MalformedCheckRequest('CheckRequest header_map entry without a key');
      const value =
        h.raw_value && h.raw_value.length > 0 ? Buffer.from(h.raw_value).toString('latin1') : (h.value ?? '');
      add(h.key, value);
    }
    return out;
  }
  const hs = http.headers;
  if (hs !== undefined && hs !== null) {
    if (typeof hs !== 'object') throw new MalformedCheckRequest('CheckRequest http.headers is not a map');
    for (const k of Object.keys(hs)) {
      const v = hs[k];
      if (typeof v !== 'string') throw new MalformedCheckRequest(`CheckRequest header ${k} is not a string`);
      add(k, v);
    }
  }
  return out;
}

function socket(peer: PeerMessage | null | undefined, side: string): SocketAddress | undefined {
  const sa = peer?.address?.socket_address;
  if (!sa) return undefined;
  if (typeof sa.address !== 'string' || sa.address === '') return undefined;
  const port = sa.port_value;
  if (port !== undefined && (typeof port !== 'number' || port < 0 || port > 65535)) {
    throw new MalformedCheckRequest(`CheckRequest ${side} port is out of range`);
  }
  return { ip: stripZone(sa.address), port };
}

/** `fe80::1%eth0` → `fe80::1`; `::ffff:10.0.0.1` → `10.0.0.1` (IPv4-mapped). */
function stripZone(ip: string): string {
  const noZone = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  return noZone.startsWith('::ffff:') && noZone.includes('.') ? noZone.slice(7) : noZone;
}
