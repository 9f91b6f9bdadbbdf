// The request as the policy sees it: plain attributes of one HTTP request,
// exactly as Envoy's ext_authz CheckRequest carries them. The transport's
// CheckInput is structurally a superset of this, so it can be passed as is.

/** The body Envoy buffered (`with_request_body`). */
export interface RequestBody {
  readonly data: Uint8Array;
  /** True when `allow_partial_message` cut the body at `max_request_bytes`. */
  readonly truncated: boolean;
}

export interface HttpRequestAttributes {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Raw `:path`: may carry a query and a fragment, never trusted as normalized. */
  readonly path: string;
  /** `:authority` as the client sent it (may carry a port). */
  readonly host: string;
  /** `:scheme`, when Envoy reported one. */
  readonly scheme?: string;
  /** Lower-case header names; Envoy joins repeated headers with ','. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body?: RequestBody;
}

/**
 * Host without port, lower-cased, for comparisons (RFC 9110 §4.2.3: the host
 * is case-insensitive). Bracketed IPv6 literals keep their brackets stripped:
 * `[::1]:8080` → `::1`. A trailing dot (absolute FQDN) is dropped.
 */
export function hostKey(host: string): string {
  let h = host.trim();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(1, end) : h.slice(1);
  } else {
    const colon = h.indexOf(':');
    // More than one colon without brackets: a bare IPv6 literal, no port.
    if (colon >= 0 && h.indexOf(':', colon + 1) < 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}

/** True when the request carries a non-empty body. */
export function hasBody(req: HttpRequestAttributes): boolean {
  return req.body !== undefined && req.body.data.length > 0;
}
