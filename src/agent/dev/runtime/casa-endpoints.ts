// What each endpoint of the reference runtime does: the `casa` API profile
// (casa-research.md §1.5, §2.2–2.5), with signed JWTs. Deliberate
// differences from the shipped runtime, all stricter or clearer:
// - signatures and expiry are verified (CASA's introspection decodes without
//   verifying, §2.5 / gotcha 5);
// - bad credentials are 401 `{"error":"invalid_client"}` and a bad subject
//   token 400 `{"error":"invalid_grant"}` (CASA surfaces both as a bare 500);
// - introspection answers inactive whenever requested `tools` are not all in
//   the token's `tools` (CASA checks this only for MCP actors);
// - `act` and `tools` are JSON claims (RFC 8693 §4.1), not JSON strings.
// The response bodies are CASA's: `{access_token}` only, introspection with
// every field present and null when empty.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { isAppType } from '../../../policy/types.js';
import type { AppRegistry, RuntimeApp } from './app-registry.js';
import { detail, oauthError, type Reply, validationError } from './http-io.js';
import type { TokenSigner } from './token-signer.js';
import type { TraceCacheTable } from './trace-cache-table.js';

export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const BASE_SCOPE = 'openid offline_access';
const TOOLS_SCOPE = 'call-tools';
const MAX_USER_INPUTS = 10_000;

/** What an exchange policy sees. */
export interface ExchangeContext {
  /** The app in the path, whose credentials were presented (it becomes `act.sub`). */
  readonly actor: RuntimeApp;
  /** The app the subject token's `sub` names (the original client). */
  readonly subjectApp: RuntimeApp;
  readonly subjectClaims: Readonly<Record<string, unknown>>;
  readonly tools: readonly string[];
  readonly mcpServerUrl: string;
}

/**
 * A policy's answer: refuse with a CASA reason code (e.g. `tool_intent_mismatch`),
 * or approve a subset of the tools (CASA's tool checks drop tools and still
 * return a token). Undefined = approve everything asked.
 */
export type ExchangeVerdict =
  | { readonly deny: string; readonly message?: string; readonly status?: number }
  | { readonly approvedTools: readonly string[] };

export type ExchangePolicy = (
  ctx: ExchangeContext,
) => ExchangeVerdict | undefined | Promise<ExchangeVerdict | undefined>;

export interface EndpointDeps {
  readonly apps: AppRegistry;
  readonly signer: TokenSigner;
  readonly traces: TraceCacheTable;
  readonly issuer: () => string;
  readonly now: () => number;
  readonly tokenTtlSeconds: number;
  readonly policy: () => ExchangePolicy | undefined;
}

interface UserInput {
  readonly id: string;
  readonly prompt: string;
  readonly app_id: string;
  readonly tag: string | null;
  readonly created_at: string;
}

const INACTIVE = Object.freeze({
  client_id: null,
  scope: null,
  sub: null,
  act: null,
  other: null,
  exp: null,
  user_input_id: null,
  app_id: null,
  mas_id: null,
  tools: null,
  active: false,
});

export class CasaEndpoints {
  readonly #d: EndpointDeps;
  readonly #inputs = new Map<string, UserInput>();

  constructor(deps: EndpointDeps) {
    this.#d = deps;
  }

  /** POST /{app_id}/oauth2/token — a T1 for a user input. */
  async token(form: URLSearchParams, pathAppId: string | undefined): Promise<Reply> {
    const missing = required(form, ['client_id', 'client_secret']);
    if (missing) return missing;
    const app = this.#authenticate(form, pathAppId);
    if (!app) return oauthError(401, 'invalid_client', 'unknown client or wrong secret');
    let input: UserInput | undefined;
    const inputId = form.get('user_input_id');
    const prompt = form.get('user_input');
    if (inputId) {
      input = this.#inputs.get(inputId);
      if (!input) return detail(404, 'UserInput not found');
    } else if (prompt) {
      input = this.#addInput(prompt, app.appId, null);
    } else {
      return validationError([
        {
          loc: 'user_input',
          msg: 'Either user_input or user_input_id must be provided',
          type: 'value_error',
        },
      ]);
    }
    const c = app.credentials.clientId;
    const claims = {
      sub: c,
      client_id: c,
      app_id: app.appId,
      mas_id: app.masId,
      user_input_id: input.id,
      scope: BASE_SCOPE,
    };
    return { status: 200, body: { access_token: await this.#sign(claims) } };
  }

  /** POST /{app_id}/oauth2/token_exchange — a delegated token (T2), or a tool token (T3) when tools are asked. */
  async exchange(form: URLSearchParams, pathAppId: string | undefined): Promise<Reply> {
    const missing = required(form, ['client_id', 'client_secret', 'subject_token', 'subject_token_type']);
    if (missing) return missing;
    if (form.get('subject_token_type') !== ACCESS_TOKEN_TYPE) {
      return validationError([
        { loc: 'subject_token_type', msg: `Input should be '${ACCESS_TOKEN_TYPE}'`, type: 'literal_error' },
      ]);
    }
    const actor = this.#authenticate(form, pathAppId);
    if (!actor) return oauthError(401, 'invalid_client', 'unknown client or wrong secret');
    const subject = await this.#d.signer.verify(
      form.get('subject_token') ?? '',
      this.#d.issuer(),
      this.#d.now(),
    );
    const subjectApp = subject ? this.#d.apps.byClientId(String(subject.claims.sub)) : undefined;
    if (!subject || !subjectApp)
      return oauthError(400, 'invalid_grant', 'subject token is invalid or expired');
    const tools = form.getAll('tools').filter((t) => t.length > 0);
    const mcpServerUrl = form.get('mcp_server_url') ?? '';
    const policy = this.#d.policy();
    const verdict = policy
      ? await policy({ actor, subjectApp, subjectClaims: subject.claims, tools, mcpServerUrl })
      : undefined;
    if (verdict && 'deny' in verdict) {
      return oauthError(verdict.status ?? 403, verdict.deny, verdict.message);
    }
    const approved = verdict ? tools.filter((t) => verdict.approvedTools.includes(t)) : tools;
    const s = subject.claims;
    const c = actor.credentials.clientId;
    const claims: Record<string, unknown> = {
      sub: s.sub,
      client_id: c,
      app_id: actor.appId,
      mas_id: actor.masId,
      user_input_id: s.user_input_id ?? null,
      scope: approved.length > 0 ? `${BASE_SCOPE} ${TOOLS_SCOPE}` : BASE_SCOPE,
      act: isRecord(s.act) ? { sub: c, act: s.act } : { sub: c },
    };
    if (approved.length > 0) claims.tools = approved;
    return { status: 200, body: { access_token: await this.#sign(claims) } };
  }

  /** POST /oauth2/introspect — RFC 7662 claims with CASA's fields. */
  async introspect(form: URLSearchParams): Promise<Reply> {
    const missing = required(form, ['token']);
    if (missing) return missing;
    const inactive = { status: 200, body: INACTIVE };
    const v = await this.#d.signer.verify(form.get('token') ?? '', this.#d.issuer(), this.#d.now());
    if (!v) return inactive;
    const c = v.claims;
    const subApp = this.#d.apps.byClientId(String(c.sub));
    if (!subApp || subApp.type === 'mcp_server') return inactive;
    let app = subApp;
    if (c.act !== undefined) {
      const actSub = isRecord(c.act) ? c.act.sub : undefined;
      const actor = typeof actSub === 'string' ? this.#d.apps.byClientId(actSub) : undefined;
      if (!actor) return inactive;
      app = actor;
    }
    const granted = Array.isArray(c.tools) ? c.tools.filter((t): t is string => typeof t === 'string') : [];
    const asked = form.getAll('tools').filter((t) => t.length > 0);
    if (!asked.every((t) => granted.includes(t))) return inactive;
    return {
      status: 200,
      body: {
        client_id: typeof c.client_id === 'string' ? c.client_id : null,
        scope: typeof c.scope === 'string' ? c.scope : null,
        sub: c.sub,
        act: isRecord(c.act) ? c.act : null,
        other: null,
        exp: c.exp,
        iat: c.iat ?? null,
        user_input_id: typeof c.user_input_id === 'string' ? c.user_input_id : null,
        app_id: app.appId,
        mas_id: app.masId,
        tools: Array.isArray(c.tools) ? granted : null,
        active: true,
      },
    };
  }

  /** POST /user-inputs — registers a prompt; its id goes into `user_input_id`. */
  userInputs(body: Record<string, unknown>): Reply {
    const bad = typedFields(body, { prompt: 'string', app_id: 'string' }, { tag: 'string' });
    if (bad) return bad;
    const tag = typeof body.tag === 'string' ? body.tag : null;
    return { status: 200, body: this.#addInput(String(body.prompt), String(body.app_id), tag) };
  }

  /** POST /k8s/namespaces/{ns}/cache/store-token */
  storeToken(namespace: string, body: Record<string, unknown>): Reply {
    const bad =
      typedFields(
        body,
        { trace_id: 'string', app_host: 'string', app_type: 'string', access_token: 'string' },
        {
          tool: 'string',
        },
      ) ?? appTypeError(body.app_type);
    if (bad) return bad;
    const row = this.#d.traces.insert(
      {
        namespace,
        trace_id: String(body.trace_id),
        app_host: String(body.app_host),
        app_type: String(body.app_type),
        access_token: String(body.access_token),
        tool: typeof body.tool === 'string' ? body.tool : null,
      },
      this.#d.now(),
    );
    return { status: 200, body: row };
  }

  /** POST /k8s/namespaces/{ns}/cache/load-token — 404 when there is none. */
  loadToken(namespace: string, body: Record<string, unknown>): Reply {
    const bad =
      typedFields(body, { trace_id: 'string', app_host: 'string', app_type: 'string' }, { tool: 'string' }) ??
      appTypeError(body.app_type);
    if (bad) return bad;
    const row = this.#d.traces.load({
      namespace,
      trace_id: String(body.trace_id),
      app_host: String(body.app_host),
      app_type: String(body.app_type),
      tool: typeof body.tool === 'string' ? body.tool : null,
    });
    return row ? { status: 200, body: { access_token: row.access_token } } : detail(404, 'Token not found');
  }

  /** GET /{app_id}/oauth2/client-metadata.json */
  clientMetadata(appId: string): Reply {
    const app = this.#d.apps.get(appId);
    if (!app) return detail(404, 'App not found');
    return {
      status: 200,
      body: {
        client_id: app.credentials.clientId,
        client_name: app.name,
        grant_types: ['client_credentials'],
        response_types: ['token'],
        token_endpoint_auth_method: 'client_secret_post',
        jwks_uri: `${this.#d.issuer()}/.well-known/jwks.json`,
      },
    };
  }

  #authenticate(form: URLSearchParams, pathAppId: string | undefined): RuntimeApp | undefined {
    const clientId = form.get('client_id') ?? '';
    // Without {app_id} in the path (the documented /oauth/... routes), the client_id names the app.
    const app = pathAppId ? this.#d.apps.get(pathAppId) : this.#d.apps.byClientId(clientId);
    if (!app || app.credentials.clientId !== clientId) return undefined;
    return sameSecret(app.credentials.clientSecret, form.get('client_secret') ?? '') ? app : undefined;
  }

  #addInput(prompt: string, appId: string, tag: string | null): UserInput {
    const input: UserInput = {
      id: randomUUID(),
      prompt,
      app_id: appId,
      tag,
      created_at: new Date(this.#d.now()).toISOString(),
    };
    this.#inputs.set(input.id, input);
    if (this.#inputs.size > MAX_USER_INPUTS) {
      const oldest = this.#inputs.keys().next();
      if (!oldest.done) this.#inputs.delete(oldest.value);
    }
    return input;
  }

  #sign(claims: Record<string, unknown>): Promise<string> {
    return this.#d.signer.sign(claims, this.#d.issuer(), this.#d.now() / 1000, this.#d.tokenTtlSeconds);
  }
}

function required(form: URLSearchParams, names: readonly string[]): Reply | undefined {
  const missing = names.filter((n) => !form.get(n));
  return missing.length ? validationError(missing.map((loc) => ({ loc, msg: 'Field required' }))) : undefined;
}

function typedFields(
  body: Record<string, unknown>,
  must: Readonly<Record<string, 'string'>>,
  may: Readonly<Record<string, 'string'>>,
): Reply | undefined {
  const errors: { loc: string; msg: string; type: string }[] = [];
  for (const k of Object.keys(must)) {
    if (body[k] === undefined || body[k] === null)
      errors.push({ loc: k, msg: 'Field required', type: 'missing' });
    else if (typeof body[k] !== 'string')
      errors.push({ loc: k, msg: 'Input should be a valid string', type: 'string_type' });
  }
  for (const k of Object.keys(may)) {
    if (body[k] !== undefined && body[k] !== null && typeof body[k] !== 'string') {
      errors.push({ loc: k, msg: 'Input should be a valid string', type: 'string_type' });
    }
  }
  return errors.length ? validationError(errors) : undefined;
}

function appTypeError(v: unknown): Reply | undefined {
  return isAppType(v)
    ? undefined
    : validationError([
        { loc: 'app_type', msg: "Input should be 'agent', 'client' or 'mcp_server'", type: 'enum' },
      ]);
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
