// A real OAuth 2.0 server for the rfc profile: oidc-provider (certified,
// RFC 7662 introspection), with RFC 8693 token exchange registered through
// its `registerGrantType` extension point. The grant below is test support
// (oidc-provider ships none): it validates the subject token, honours
// `scope` (call-tools + tool:<name>), `resource` and `audience`, records the
// actor in `act` (RFC 8693 §4.1), and refuses tool `transfer` with a CASA
// reason code so refusals can be tested.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

// oidc-provider ships no types; the few shapes used here are declared locally.
interface Token {
  clientId: string;
  isValid: boolean;
  kind: string;
  scope?: string;
  expiration: number;
  extra?: Record<string, unknown>;
  save(): Promise<string>;
}
interface GrantContext {
  oidc: { params: Record<string, unknown>; body?: Record<string, unknown>; client: { clientId: string } };
  body: unknown;
}
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  registerGrantType(
    name: string,
    handler: (ctx: GrantContext) => Promise<void>,
    params: string[],
    dupes: string[],
  ): void;
  ClientCredentials: {
    new (init: { client: unknown; scope?: string }): Token;
    find(value: string): Promise<Token | undefined>;
  };
  on(event: string, listener: (...args: unknown[]) => void): void;
}
type ErrorClass = new (...args: never[]) => Error;
interface OidcModule {
  Provider: new (issuer: string, config: Record<string, unknown>) => ProviderInstance;
  errors: {
    OIDCProviderError: new (status: number, message: string) => Error & { error_description?: string };
    InvalidGrant: new (description: string) => Error;
    InvalidRequest: new (description: string) => Error;
  } & Record<string, ErrorClass>;
}

export interface OidcClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface OidcPeer {
  readonly issuer: string;
  /** The agent's own client (introspection). */
  readonly agent: OidcClient;
  /** A client app (T1 via client_credentials). */
  readonly web: OidcClient;
  /** Apps that exchange tokens (RFC 8693). */
  readonly orchestrator: OidcClient;
  readonly accounts: OidcClient;
  /** Request paths seen, in order. */
  readonly paths: string[];
  /** Grant requests seen, by grant type, with their parameters (no secrets). */
  readonly grants: { grantType: string; params: Record<string, unknown> }[];
  close(): Promise<void>;
}

export interface OidcPeerOptions {
  /** Serve the issuer under this path (e.g. `/realms/casa`). */
  readonly issuerPath?: string;
  /** Also answer RFC 8414's `/.well-known/oauth-authorization-server{path}` (oidc-provider serves only OIDC discovery). */
  readonly rfc8414?: boolean;
}

export async function startOidcPeer(opts: OidcPeerOptions = {}): Promise<OidcPeer> {
  const specifier = 'oidc-provider';
  const { Provider, errors } = (await import(specifier)) as OidcModule;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}${opts.issuerPath ?? ''}`;

  const agent = { clientId: 'casa-agent', clientSecret: 'agent-secret:with/odd chars' };
  const web = { clientId: 'web', clientSecret: 'web-secret' };
  const orchestrator = { clientId: 'orchestrator', clientSecret: 'orchestrator-secret' };
  const accounts = { clientId: 'accounts-mcp', clientSecret: 'accounts-secret' };
  const client = (c: OidcClient, grantTypes: string[], scope?: string) => ({
    client_id: c.clientId,
    client_secret: c.clientSecret,
    grant_types: grantTypes,
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    ...(scope ? { scope } : {}),
  });

  const provider = new Provider(issuer, {
    clients: [
      client(agent, ['client_credentials']),
      client(web, ['client_credentials'], 'openid user-input'),
      client(orchestrator, [TOKEN_EXCHANGE]),
      client(accounts, [TOKEN_EXCHANGE]),
    ],
    scopes: ['openid', 'user-input', 'call-tools'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Only the agent's own client may introspect (RFC 7662 §2.1: the caller must be authorized).
        allowedPolicy: async (ctx: GrantContext) => ctx.oidc.client.clientId === agent.clientId,
      },
    },
    // Keep the claims a grant put on the token (act, tools, sub) in introspection.
    extraTokenClaims: async (_ctx: unknown, token: Token) => token.extra,
    ttl: { ClientCredentials: 300 },
  });
  provider.on('server_error', () => {});

  const grants: OidcPeer['grants'] = [];
  provider.on('grant.success', (...args: unknown[]) => {
    const ctx = args[0] as GrantContext;
    // The raw form as sent (params are already filtered to what the grant knows).
    const { client_secret: _s, subject_token: _t, ...params } = ctx.oidc.body ?? ctx.oidc.params;
    grants.push({ grantType: String(ctx.oidc.params.grant_type), params });
  });

  provider.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx) => {
      const p = ctx.oidc.params;
      if (p.subject_token_type !== ACCESS_TOKEN)
        throw new errors.InvalidRequest('unsupported subject_token_type');
      if (p.requested_token_type !== undefined && p.requested_token_type !== ACCESS_TOKEN) {
        throw new errors.InvalidRequest('unsupported requested_token_type');
      }
      const subject = await provider.ClientCredentials.find(String(p.subject_token ?? ''));
      if (!subject?.isValid) throw new errors.InvalidGrant('subject token is invalid or expired');
      const scopes = String(p.scope ?? '')
        .split(' ')
        .filter(Boolean);
      const tools = scopes.filter((s) => s.startsWith('tool:')).map((s) => s.slice('tool:'.length));
      if (tools.includes('transfer')) {
        const e = new errors.OIDCProviderError(403, 'tool_intent_mismatch');
        e.error_description = 'the tool does not match the user intent';
        throw e;
      }
      const token = new provider.ClientCredentials({
        client: ctx.oidc.client,
        scope: scopes.join(' ') || undefined,
      });
      const priorAct = subject.extra?.act;
      token.extra = {
        sub: typeof subject.extra?.sub === 'string' ? subject.extra.sub : subject.clientId,
        act: priorAct ? { sub: ctx.oidc.client.clientId, act: priorAct } : { sub: ctx.oidc.client.clientId },
        ...(p.resource ? { resource: p.resource } : {}),
        ...(p.audience ? { audience_app: p.audience } : {}),
      };
      const value = await token.save();
      ctx.body = {
        access_token: value,
        issued_token_type: ACCESS_TOKEN,
        token_type: 'Bearer',
        expires_in: token.expiration,
        ...(token.scope ? { scope: token.scope } : {}),
      };
    },
    ['subject_token', 'subject_token_type', 'requested_token_type', 'resource', 'audience', 'scope'],
    [],
  );

  const serve = provider.callback();
  const prefix = opts.issuerPath ?? '';
  // An issuer with a path is served under that path, as a reverse proxy would mount it.
  const rfc8414Path = `/.well-known/oauth-authorization-server${prefix}`;
  handler = (req, res) => {
    let url = req.url ?? '/';
    if (opts.rfc8414 && url === rfc8414Path) {
      // The same metadata, at the RFC 8414 location (what a fronting proxy would add).
      url = `${prefix}/.well-known/openid-configuration`;
      req.url = url;
    }
    if (!prefix) return serve(req, res);
    if (!url.startsWith(`${prefix}/`)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
    req.url = url.slice(prefix.length);
    serve(req, res);
  };
  return {
    issuer,
    agent,
    web,
    orchestrator,
    accounts,
    grants,
    paths,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
