// The `rfc` runtime profile: any standards-compliant OAuth 2.0 server
// (Keycloak, oidc-provider, …). Endpoints come from configuration or from
// RFC 8414 / OIDC discovery on `runtimeUrl` (the issuer).
//
// Mapping of the CASA flows onto standard requests:
// - Introspection: RFC 7662 §2.1, the agent authenticating as its own client
//   (`rfcClientId`/`rfcClientSecret`, HTTP Basic, RFC 6749 §2.3.1). No
//   standard parameter carries the requested tools, so none is sent; the
//   claims come back and the policy checks the tools (scope.ts).
// - Tool grants: the `tools` claim when the server emits one (as CASA's
//   does); otherwise scope values `tool:<name>` next to `call-tools`
//   (RFC 6749 §3.3 scope tokens), which is what the exchange below asks for.
// - Token exchange: RFC 8693 §2.1 at the token endpoint, authenticated with
//   the app's credentials: grant_type token-exchange, subject_token_type and
//   requested_token_type access_token, `resource` = the MCP server URL
//   (RFC 8707 resource indicator, as MCP authorization uses), `audience` = the
//   destination app id, and for MCP tools/call `scope=call-tools tool:<name>…`.
// - User-input token (T1): the client_credentials grant (RFC 6749 §4.4) with
//   the app's credentials. Plain RFC terms have no place for the user's
//   prompt, so the token is not bound to the intent; set `userInputParameter`
//   to send the prompt as an extension parameter for servers that read one.
// - Shared trace cache: none. Standards define no trace → token store, so in
//   this profile delegation works within one node only: the token that
//   arrived at an app is remembered by the agent that saw it, and an outbound
//   call checked on another node finds none (→ no_delegation).
import type { TokenClaims } from '../../policy/types.js';
import { parseClaims, parseIssuedToken } from './claims.js';
import { endpointUrl } from './endpoint-path.js';
import { refusal, successJson } from './response.js';
import { discover, type ServerMetadata } from './rfc-discovery.js';
import {
  type CallOptions,
  type ExchangeRequest,
  type IssuedToken,
  type RuntimeClient,
  RuntimeError,
  type UserTokenRequest,
} from './runtime-client.js';
import { RuntimeTransport, type RuntimeTransportOptions } from './runtime-transport.js';
import { raceSignal } from './single-flight.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export interface RfcClientOptions extends RuntimeTransportOptions {
  /** The issuer (config `runtimeUrl`); needed when an endpoint below is not set. */
  readonly issuer?: string;
  /** Config `rfcIntrospectionEndpoint`; default: discovery. */
  readonly introspectionEndpoint?: string;
  /** Config `rfcTokenEndpoint`; default: discovery. */
  readonly tokenEndpoint?: string;
  /** The agent's own client, for introspection (config `rfcClientId`, `rfcClientSecret`). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Scope a tool token carries (default `call-tools`, as the policy expects). */
  readonly toolsScope?: string;
  /** Prefix of per-tool scope values (default `tool:`). */
  readonly toolScopePrefix?: string;
  /** Scope requested for user-input tokens, if any. */
  readonly userTokenScope?: string;
  /** Extension parameter that carries the user's prompt on T1 requests; unset = not sent. */
  readonly userInputParameter?: string;
  readonly now?: () => number;
}

interface Endpoints {
  readonly token?: URL;
  readonly introspection?: URL;
}

export class RfcRuntimeClient implements RuntimeClient {
  readonly profile = 'rfc' as const;
  /** Standards define no shared trace cache: delegation is node-local in this profile. */
  readonly sharedTraceCache = undefined;
  readonly #http: RuntimeTransport;
  readonly #opts: RfcClientOptions;
  readonly #configured: Endpoints;
  readonly #toolsScope: string;
  readonly #toolPrefix: string;
  readonly #now: () => number;
  #discovered: Promise<ServerMetadata> | undefined;

  constructor(opts: RfcClientOptions) {
    if (!opts.clientId) throw new RangeError('rfcClientId: required for the rfc runtime profile');
    if (!opts.clientSecret) throw new RangeError('rfcClientSecret: required for the rfc runtime profile');
    this.#configured = {
      token: opts.tokenEndpoint ? endpointUrl(opts.tokenEndpoint, 'rfcTokenEndpoint') : undefined,
      introspection: opts.introspectionEndpoint
        ? endpointUrl(opts.introspectionEndpoint, 'rfcIntrospectionEndpoint')
        : undefined,
    };
    if ((!this.#configured.token || !this.#configured.introspection) && !opts.issuer) {
      throw new RangeError('runtimeUrl: required for discovery unless both rfc endpoints are configured');
    }
    this.#toolsScope = opts.toolsScope ?? 'call-tools';
    this.#toolPrefix = opts.toolScopePrefix ?? 'tool:';
    if (!SCOPE_TOKEN.test(this.#toolsScope)) throw new RangeError('toolsScope: not an RFC 6749 scope token');
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#http = new RuntimeTransport(opts);
  }

  get stats(): RuntimeTransport['stats'] {
    return this.#http.stats;
  }

  async introspect(
    token: string,
    _tools: readonly string[] | undefined,
    opts?: CallOptions,
  ): Promise<TokenClaims> {
    const url = await this.#endpoint('introspection', opts);
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
    const headers = { authorization: basic(this.#opts.clientId, this.#opts.clientSecret) };
    return this.#http.call('introspect', opts, async (send) => {
      const res = await send({ op: 'introspect', url, method: 'POST', form, headers });
      return this.#withTools(parseClaims(successJson(res, 'introspect'), 'introspect'));
    });
  }

  async issueUserToken(req: UserTokenRequest, opts?: CallOptions): Promise<IssuedToken> {
    const url = await this.#endpoint('token', opts);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.#opts.userTokenScope) form.set('scope', this.#opts.userTokenScope);
    if (this.#opts.userInputParameter) form.set(this.#opts.userInputParameter, req.userInput);
    return this.#token('issue_user_token', url, form, req, opts);
  }

  async exchange(req: ExchangeRequest, opts?: CallOptions): Promise<IssuedToken> {
    const url = await this.#endpoint('token', opts);
    const form = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: req.subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
    });
    if (req.mcpServerUrl) form.set('resource', req.mcpServerUrl);
    if (req.audienceAppId) form.set('audience', req.audienceAppId);
    if (req.tools && req.tools.length > 0) form.set('scope', this.#toolScope(req.tools));
    return this.#token('exchange', url, form, req, opts);
  }

  /** Reachability: the metadata document, or any non-5xx answer from the introspection endpoint. */
  async ping(opts?: CallOptions): Promise<void> {
    if (!this.#configured.token || !this.#configured.introspection) {
      // Re-fetch: readiness must see the server now, not a cached document.
      await discover(this.#http, this.#opts.issuer ?? '', opts);
      return;
    }
    const url = this.#configured.introspection;
    await this.#http.call('ping', opts, async (send) => {
      const res = await send({ op: 'ping', url, method: 'GET' });
      if (res.status >= 500) throw refusal(res, 'ping');
    });
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  #token(
    op: string,
    url: URL,
    form: URLSearchParams,
    req: UserTokenRequest | ExchangeRequest,
    opts: CallOptions | undefined,
  ): Promise<IssuedToken> {
    const headers = { authorization: basic(req.credentials.clientId, req.credentials.clientSecret) };
    return this.#http.call(op, opts, async (send) => {
      const res = await send({ op, url, method: 'POST', form, headers });
      return parseIssuedToken(successJson(res, op), op, this.#now() / 1000);
    });
  }

  #toolScope(tools: readonly string[]): string {
    const values = [this.#toolsScope];
    for (const t of tools) {
      const v = this.#toolPrefix + t;
      if (!SCOPE_TOKEN.test(v)) {
        // Spaces or quotes cannot travel in a scope (RFC 6749 §3.3); refuse rather than mangle.
        throw new RuntimeError(
          'rejected',
          'runtime exchange: a tool name cannot be expressed as an OAuth scope value',
          undefined,
          'invalid_scope',
        );
      }
      values.push(v);
    }
    return values.join(' ');
  }

  /** Fills `tools` from `tool:<name>` scope values when the server sent no tools claim. */
  #withTools(claims: TokenClaims): TokenClaims {
    if (!claims.active || claims.tools !== undefined || !claims.scope) return claims;
    const p = this.#toolPrefix;
    const tools = claims.scope
      .filter((s) => s.startsWith(p) && s.length > p.length)
      .map((s) => s.slice(p.length));
    return tools.length > 0 ? Object.freeze({ ...claims, tools }) : claims;
  }

  async #endpoint(which: keyof Endpoints, opts: CallOptions | undefined): Promise<URL> {
    const configured = this.#configured[which];
    if (configured) return configured;
    if (!this.#discovered) {
      const p = discover(this.#http, this.#opts.issuer ?? '', undefined);
      this.#discovered = p;
      // A failed discovery is retried by the next call, never cached.
      p.catch(() => {
        if (this.#discovered === p) this.#discovered = undefined;
      });
    }
    const meta = await raceSignal(this.#discovered, opts?.signal, 'discovery');
    const url = which === 'token' ? meta.tokenEndpoint : meta.introspectionEndpoint;
    if (!url) {
      const field = which === 'token' ? 'token_endpoint' : 'introspection_endpoint';
      throw new RuntimeError('bad_response', `runtime discovery: the metadata has no ${field}`);
    }
    return url;
  }
}

/** RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding. */
function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}
