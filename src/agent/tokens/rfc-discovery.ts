// Authorization server metadata for the `rfc` profile: RFC 8414 first
// (`/.well-known/oauth-authorization-server`, inserted before the issuer's
// path, §3.1), then OpenID Connect Discovery 1.0 §4
// (`{issuer}/.well-known/openid-configuration`). The document's `issuer`
// must equal the configured one (RFC 8414 §3.3), so a proxy or a wrong URL
// cannot hand us someone else's endpoints.
import { endpointUrl, runtimeBaseUrl } from './endpoint-path.js';
import { isObject, successJson } from './response.js';
import { type CallOptions, RuntimeError } from './runtime-client.js';
import type { RuntimeTransport } from './runtime-transport.js';

export interface ServerMetadata {
  readonly issuer: string;
  readonly tokenEndpoint?: URL;
  readonly introspectionEndpoint?: URL;
  /** Which document answered. */
  readonly source: URL;
}

/** The metadata URLs to try, in order. */
export function metadataUrls(issuer: URL): URL[] {
  const path = issuer.pathname.replace(/\/+$/, '');
  return [
    new URL(`/.well-known/oauth-authorization-server${path}`, issuer.origin),
    new URL(`${path}/.well-known/openid-configuration`, issuer.origin),
  ];
}

export async function discover(
  http: RuntimeTransport,
  issuerUrl: string,
  opts: CallOptions | undefined,
): Promise<ServerMetadata> {
  const issuer = runtimeBaseUrl(issuerUrl, 'runtimeUrl');
  const op = 'discovery';
  const [rfc8414, oidc] = metadataUrls(issuer) as [URL, URL];
  return http.call(op, opts, async (send) => {
    let source = rfc8414;
    let res = await send({ op, url: source, method: 'GET' });
    // A server without RFC 8414 answers 4xx (often 404): try OIDC discovery.
    if (res.status >= 400 && res.status < 500) {
      source = oidc;
      res = await send({ op, url: source, method: 'GET' });
    }
    return parseMetadata(successJson(res, op), issuer, source);
  });
}

export function parseMetadata(body: unknown, issuer: URL, source: URL): ServerMetadata {
  if (!isObject(body)) throw bad('the metadata document is not a JSON object');
  if (typeof body.issuer !== 'string') throw bad('field "issuer": expected a string');
  if (trimSlash(body.issuer) !== trimSlash(issuer.href)) {
    throw bad(`field "issuer" does not match the configured issuer ${issuer.href} (RFC 8414 §3.3)`);
  }
  return {
    issuer: body.issuer,
    tokenEndpoint: endpoint(body, 'token_endpoint'),
    introspectionEndpoint: endpoint(body, 'introspection_endpoint'),
    source,
  };
}

function endpoint(body: Record<string, unknown>, field: string): URL | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`field "${field}": expected a URL string`);
  try {
    return endpointUrl(v, field);
  } catch (e) {
    throw bad(`field "${field}": ${(e as Error).message}`);
  }
}

function bad(message: string): RuntimeError {
  return new RuntimeError('bad_response', `runtime discovery: ${message}`);
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}
