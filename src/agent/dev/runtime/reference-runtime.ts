// The reference CASA runtime: an HTTP server speaking the `casa` API profile
// with signed JWTs, the peer of our tests and of `casa-agent dev`. Test hooks
// are in-process only (this class), never HTTP: call counts per endpoint,
// fault injection, an exchange policy, and stop/start on the same port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MultiAgentSystem } from '../../../policy/types.js';
import { AppRegistry, type RegisterMasOptions, type RuntimeApp } from './app-registry.js';
import { CasaEndpoints, type ExchangePolicy } from './casa-endpoints.js';
import {
  applyFault,
  type FaultHandle,
  FaultPlan,
  type FaultScope,
  type RuntimeEndpoint,
  type RuntimeFault,
} from './faults.js';
import { BodyTooLarge, detail, formOf, isReply, jsonOf, type Reply, readBody, sendJson } from './http-io.js';
import { type SigningAlg, TokenSigner } from './token-signer.js';
import { TraceCacheTable } from './trace-cache-table.js';

export interface ReferenceRuntimeOptions {
  /** Listen address (default 127.0.0.1). */
  readonly host?: string;
  /** Listen port (default 0: any free port, kept across stop/start). */
  readonly port?: number;
  /** Issuer and client_id prefix (default `http://{host}:{port}`). */
  readonly publicUrl?: string;
  readonly alg?: SigningAlg;
  /** Token lifetime (default 300 s, as CASA's realm). */
  readonly tokenTtlSeconds?: number;
  /** Milliseconds since the epoch; tests move time with it. */
  readonly now?: () => number;
  /** Endpoint paths; `{app_id}` is optional in token and exchange (default: CASA's routes). */
  readonly paths?: { readonly token?: string; readonly exchange?: string; readonly introspect?: string };
  readonly policy?: ExchangePolicy;
}

interface Route {
  readonly method: 'GET' | 'POST';
  readonly segments: readonly string[];
  readonly endpoint: RuntimeEndpoint;
}

export class ReferenceRuntime {
  readonly #server: Server;
  readonly #host: string;
  #port: number;
  readonly #publicUrl: string | undefined;
  readonly #apps: AppRegistry;
  readonly #signer: TokenSigner;
  readonly #endpoints: CasaEndpoints;
  readonly #faults = new FaultPlan();
  readonly #routes: readonly Route[];
  readonly #calls = new Map<RuntimeEndpoint, number>();
  readonly #sleepers = new Set<() => void>();
  #policy: ExchangePolicy | undefined;
  #running = false;

  private constructor(opts: ReferenceRuntimeOptions, signer: TokenSigner) {
    this.#host = opts.host ?? '127.0.0.1';
    this.#port = opts.port ?? 0;
    this.#publicUrl = opts.publicUrl?.replace(/\/+$/, '');
    this.#signer = signer;
    this.#policy = opts.policy;
    this.#apps = new AppRegistry(() => this.url);
    this.#endpoints = new CasaEndpoints({
      apps: this.#apps,
      signer,
      traces: new TraceCacheTable(),
      issuer: () => this.url,
      now: opts.now ?? Date.now,
      tokenTtlSeconds: opts.tokenTtlSeconds ?? 300,
      policy: () => this.#policy,
    });
    const p = opts.paths ?? {};
    this.#routes = [
      route('GET', '/health', 'health'),
      route('GET', '/.well-known/jwks.json', 'jwks'),
      route('POST', '/user-inputs', 'user_inputs'),
      route('POST', '/k8s/namespaces/{namespace}/cache/store-token', 'store_token'),
      route('POST', '/k8s/namespaces/{namespace}/cache/load-token', 'load_token'),
      route('POST', p.introspect ?? '/oauth2/introspect', 'introspect'),
      route('POST', p.exchange ?? '/{app_id}/oauth2/token_exchange', 'token_exchange'),
      route('POST', p.token ?? '/{app_id}/oauth2/token', 'token'),
      route('GET', '/{app_id}/oauth2/client-metadata.json', 'client_metadata'),
    ];
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('Internal Server Error');
        } else res.destroy();
      });
    });
    // uvicorn's default keep-alive, so clients meet the same idle-close behaviour.
    this.#server.keepAliveTimeout = 5_000;
  }

  /** Creates the signing key and starts listening. */
  static async start(opts: ReferenceRuntimeOptions = {}): Promise<ReferenceRuntime> {
    const rt = new ReferenceRuntime(opts, await TokenSigner.create(opts.alg));
    await rt.start();
    return rt;
  }

  /** Base URL: the issuer of every token and the prefix of every client_id. */
  get url(): string {
    return (
      this.#publicUrl ?? `http://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`
    );
  }

  get port(): number {
    return this.#port;
  }

  get running(): boolean {
    return this.#running;
  }

  get alg(): SigningAlg {
    return this.#signer.alg;
  }

  /** Registers a MAS's apps; returns each with its app_id and credentials. Call after start (client_ids embed the URL). */
  registerMas(mas: MultiAgentSystem, opts?: RegisterMasOptions): RuntimeApp[] {
    return this.#apps.registerMas(mas, opts);
  }

  app(appId: string): RuntimeApp | undefined {
    return this.#apps.get(appId);
  }

  apps(): RuntimeApp[] {
    return this.#apps.all();
  }

  jwks(): ReturnType<TokenSigner['jwks']> {
    return this.#signer.jwks();
  }

  setPolicy(policy: ExchangePolicy | undefined): void {
    this.#policy = policy;
  }

  injectFault(fault: RuntimeFault, scope?: FaultScope): FaultHandle {
    return this.#faults.add(fault, scope);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /** Requests routed to `endpoint` (every endpoint when omitted), faulted ones included. */
  calls(endpoint?: RuntimeEndpoint): number {
    if (endpoint) return this.#calls.get(endpoint) ?? 0;
    let n = 0;
    for (const v of this.#calls.values()) n += v;
    return n;
  }

  resetCalls(): void {
    this.#calls.clear();
  }

  /** Listens (again) on the same host and port. */
  async start(): Promise<void> {
    if (this.#running) return;
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.#server.once('error', onError);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#running = true;
  }

  /** Stops listening and drops every connection (a runtime outage). State is kept. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const wake of this.#sleepers) wake();
    this.#sleepers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  close(): Promise<void> {
    this.#faults.clear();
    return this.stop();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://runtime.invalid');
    const match = this.#match(req.method ?? 'GET', url.pathname);
    const endpoint = match?.endpoint ?? 'not_found';
    this.#calls.set(endpoint, (this.#calls.get(endpoint) ?? 0) + 1);
    const fault = this.#faults.take(endpoint);
    if (fault?.kind === 'delay') {
      await this.#sleep(fault.ms);
      if (!this.#running || res.destroyed) return;
    } else if (fault) {
      await applyFault(fault, req, res);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (e) {
      if (e instanceof BodyTooLarge) return sendJson(res, detail(413, 'Request Entity Too Large'));
      throw e;
    }
    if (!match) return sendJson(res, detail(404, 'Not Found'));
    if (match.wrongMethod) return sendJson(res, detail(405, 'Method Not Allowed'));
    sendJson(res, await this.#dispatch(match.endpoint, match.params, req, body));
  }

  async #dispatch(
    endpoint: RuntimeEndpoint,
    params: Readonly<Record<string, string>>,
    req: IncomingMessage,
    body: Buffer,
  ): Promise<Reply> {
    const e = this.#endpoints;
    switch (endpoint) {
      case 'health':
        return { status: 200, body: { status: 'ok' } };
      case 'jwks':
        return { status: 200, body: this.#signer.jwks() };
      case 'client_metadata':
        return e.clientMetadata(params.app_id ?? '');
      case 'token':
      case 'token_exchange':
      case 'introspect': {
        const form = formOf(req, body);
        if (isReply(form)) return form;
        if (endpoint === 'introspect') return e.introspect(form);
        return endpoint === 'token' ? e.token(form, params.app_id) : e.exchange(form, params.app_id);
      }
      case 'user_inputs':
      case 'store_token':
      case 'load_token': {
        const json = jsonOf(req, body);
        if (isReply(json)) return json;
        if (endpoint === 'user_inputs') return e.userInputs(json);
        const ns = params.namespace ?? '';
        return endpoint === 'store_token' ? e.storeToken(ns, json) : e.loadToken(ns, json);
      }
      case 'not_found':
        return detail(404, 'Not Found');
    }
  }

  #match(
    method: string,
    path: string,
  ): { endpoint: RuntimeEndpoint; params: Record<string, string>; wrongMethod: boolean } | undefined {
    const segs = path.split('/').slice(1);
    let wrongMethod: RuntimeEndpoint | undefined;
    for (const r of this.#routes) {
      const params = matchSegments(r.segments, segs);
      if (!params) continue;
      if (r.method === method) return { endpoint: r.endpoint, params, wrongMethod: false };
      wrongMethod ??= r.endpoint;
    }
    return wrongMethod ? { endpoint: wrongMethod, params: {}, wrongMethod: true } : undefined;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }
}

function route(method: Route['method'], template: string, endpoint: RuntimeEndpoint): Route {
  if (!template.startsWith('/')) throw new RangeError(`${endpoint} path must start with "/"`);
  return { method, segments: template.split('/').slice(1), endpoint };
}

function matchSegments(
  template: readonly string[],
  segs: readonly string[],
): Record<string, string> | undefined {
  if (template.length !== segs.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i] ?? '';
    const s = segs[i] ?? '';
    if (t.startsWith('{') && t.endsWith('}')) {
      if (s.length === 0) return undefined;
      try {
        params[t.slice(1, -1)] = decodeURIComponent(s);
      } catch {
        return undefined;
      }
    } else if (t !== s) return undefined;
  }
  return params;
}
