// The `casa` runtime profile: the shipped CASA auth service (FastAPI).
// Routes and fields as CASA ships them (casa-research.md §1.5, §1.9, §2.2):
//   POST /{app_id}/oauth2/token           form client_id, client_secret, user_input
//   POST /{app_id}/oauth2/token_exchange  form client_id, client_secret, subject_token,
//                                         subject_token_type, mcp_server_url, tools (repeated)
//   POST /oauth2/introspect               form token, tools (repeated)
//   POST /k8s/namespaces/{ns}/cache/store-token | load-token   JSON (404 = no token)
//   GET  /health
// Paths are configurable, so the documented `/oauth/token`, `/oauth/token/exchange`
// and `/oauth/introspect` work too. Tools go as one form field per tool (what
// FastAPI's `list[str]` reads), not CASA's Go client's single comma-joined field.
import type { AppType, TokenClaims } from '../../policy/types.js';
import { parseClaims, parseIssuedToken } from './claims.js';
import { EndpointPath, runtimeBaseUrl } from './endpoint-path.js';
import { jsonBody, refusal, successJson } from './response.js';
import type {
  CallOptions,
  ExchangeRequest,
  IssuedToken,
  RuntimeClient,
  TraceTokenKey,
  UserTokenRequest,
} from './runtime-client.js';
import { RuntimeTransport, type RuntimeTransportOptions } from './runtime-transport.js';

export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export const CASA_DEFAULT_PATHS = Object.freeze({
  tokenPath: '/{app_id}/oauth2/token',
  exchangePath: '/{app_id}/oauth2/token_exchange',
  introspectPath: '/oauth2/introspect',
  healthPath: '/health',
  cachePath: '/k8s/namespaces/{namespace}/cache',
});

export interface CasaClientOptions extends RuntimeTransportOptions {
  /** Base URL of the runtime (config `runtimeUrl`); may carry a path prefix. */
  readonly runtimeUrl: string;
  /** Config `runtimeTokenPath`; `{app_id}` is replaced. */
  readonly tokenPath?: string;
  /** Config `runtimeExchangePath`; `{app_id}` is replaced. */
  readonly exchangePath?: string;
  /** Config `runtimeIntrospectPath`. */
  readonly introspectPath?: string;
  /** Readiness probe path (a JSON 2xx = reachable). */
  readonly healthPath?: string;
  /** Config `runtimeSharedCache` (default true): use the runtime's trace token cache. */
  readonly sharedCache?: boolean;
  /** Prefix of `store-token` / `load-token`; `{namespace}` is replaced. */
  readonly cachePath?: string;
  /** Milliseconds since the epoch (tests inject a clock). */
  readonly now?: () => number;
}

export class CasaRuntimeClient implements RuntimeClient {
  readonly profile = 'casa' as const;
  readonly sharedTraceCache: RuntimeClient['sharedTraceCache'];
  readonly #http: RuntimeTransport;
  readonly #now: () => number;
  readonly #token: EndpointPath;
  readonly #exchange: EndpointPath;
  readonly #introspect: EndpointPath;
  readonly #health: EndpointPath;
  readonly #store: EndpointPath;
  readonly #load: EndpointPath;

  constructor(opts: CasaClientOptions) {
    const base = runtimeBaseUrl(opts.runtimeUrl);
    const d = CASA_DEFAULT_PATHS;
    this.#token = new EndpointPath(base, opts.tokenPath ?? d.tokenPath, 'runtimeTokenPath', ['app_id']);
    this.#exchange = new EndpointPath(base, opts.exchangePath ?? d.exchangePath, 'runtimeExchangePath', [
      'app_id',
    ]);
    this.#introspect = new EndpointPath(
      base,
      opts.introspectPath ?? d.introspectPath,
      'runtimeIntrospectPath',
      [],
    );
    this.#health = new EndpointPath(base, opts.healthPath ?? d.healthPath, 'healthPath', []);
    const cache = (opts.cachePath ?? d.cachePath).replace(/\/+$/, '');
    this.#store = new EndpointPath(base, `${cache}/store-token`, 'cachePath', ['namespace']);
    this.#load = new EndpointPath(base, `${cache}/load-token`, 'cachePath', ['namespace']);
    this.#http = new RuntimeTransport(opts);
    this.#now = opts.now ?? Date.now;
    this.sharedTraceCache =
      opts.sharedCache === false
        ? undefined
        : {
            store: (key, token, o) => this.#storeTraceToken(key, token, o),
            load: (key, o) => this.#loadTraceToken(key, o),
          };
  }

  get stats(): RuntimeTransport['stats'] {
    return this.#http.stats;
  }

  introspect(token: string, tools: readonly string[] | undefined, opts?: CallOptions): Promise<TokenClaims> {
    const form = new URLSearchParams({ token });
    for (const t of tools ?? []) form.append('tools', t);
    return this.#http.call('introspect', opts, async (send) => {
      const url = this.#introspect.url();
      const res = await send({ op: 'introspect', url, method: 'POST', form });
      return parseClaims(successJson(res, 'introspect'), 'introspect');
    });
  }

  issueUserToken(req: UserTokenRequest, opts?: CallOptions): Promise<IssuedToken> {
    const form = new URLSearchParams({
      client_id: req.credentials.clientId,
      client_secret: req.credentials.clientSecret,
      user_input: req.userInput,
    });
    const op = 'issue_user_token';
    return this.#http.call(op, opts, async (send) => {
      const url = this.#token.url({ app_id: req.appId });
      const res = await send({ op, url, method: 'POST', form });
      return parseIssuedToken(successJson(res, op), op, this.#now() / 1000);
    });
  }

  exchange(req: ExchangeRequest, opts?: CallOptions): Promise<IssuedToken> {
    const form = new URLSearchParams({
      client_id: req.credentials.clientId,
      client_secret: req.credentials.clientSecret,
      subject_token: req.subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      // CASA's client always sends it, empty when the destination is an agent.
      mcp_server_url: req.mcpServerUrl ?? '',
    });
    for (const t of req.tools ?? []) form.append('tools', t);
    const op = 'exchange';
    return this.#http.call(op, opts, async (send) => {
      const url = this.#exchange.url({ app_id: req.appId });
      const res = await send({ op, url, method: 'POST', form });
      return parseIssuedToken(successJson(res, op), op, this.#now() / 1000);
    });
  }

  ping(opts?: CallOptions): Promise<void> {
    return this.#http.call('ping', opts, async (send) => {
      const url = this.#health.url();
      const res = await send({ op: 'ping', url, method: 'GET' });
      // A JSON 2xx (CASA: {"status":"ok"}); a proxy's HTML page is not the runtime.
      successJson(res, 'ping');
    });
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  #storeTraceToken(key: TraceTokenKey, token: string, opts?: CallOptions): Promise<void> {
    const op = 'store_trace_token';
    const json = { ...cacheKeyBody(key), access_token: token };
    return this.#http.call(op, opts, async (send) => {
      const url = this.#store.url({ namespace: key.namespace });
      const res = await send({ op, url, method: 'POST', json });
      // CASA answers with the stored row; nothing in it is needed.
      if (res.status < 200 || res.status >= 300) throw refusal(res, op);
    });
  }

  #loadTraceToken(key: TraceTokenKey, opts?: CallOptions): Promise<string | undefined> {
    const op = 'load_trace_token';
    const json = cacheKeyBody(key);
    return this.#http.call(op, opts, async (send) => {
      const url = this.#load.url({ namespace: key.namespace });
      const res = await send({ op, url, method: 'POST', json });
      if (res.status === 404) {
        // CASA: 404 {"detail":"Token not found"}. A non-JSON 404 (a proxy's page) is not an answer.
        jsonBody(res, op);
        return undefined;
      }
      return parseIssuedToken(successJson(res, op), op, this.#now() / 1000).accessToken;
    });
  }
}

/** CASA's cache key body; `tool` is JSON null when absent, as CASA's Go client sends it. */
function cacheKeyBody(key: TraceTokenKey): {
  trace_id: string;
  app_host: string;
  app_type: AppType;
  tool: string | null;
} {
  return { trace_id: key.traceId, app_host: key.appHost, app_type: key.appType, tool: key.tool ?? null };
}
