// Runtime JSON → typed values, once, at the boundary. Every field is checked
// for its type; a wrong one is a 'bad_response' naming the field (never its
// value). Shapes: RFC 7662 §2.2 introspection plus CASA's fields
// (casa-research.md §2.5, where absent fields are JSON null), and the token
// responses of RFC 6749 §5.1 / RFC 8693 §2.2.1 (CASA returns only
// `access_token`).
import type { TokenClaims } from '../../policy/types.js';
import { jwtExpiry } from './jwt-expiry.js';
import { isObject } from './response.js';
import { type IssuedToken, RuntimeError } from './runtime-client.js';

/** RFC 6750 §2.1 b64token: what may follow `Bearer ` in a header we inject. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** Larger tokens would not fit Envoy's default header limits anyway. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

const ACCESS_TOKEN_TYPES = new Set([
  'urn:ietf:params:oauth:token-type:access_token',
  'urn:ietf:params:oauth:token-type:jwt',
]);

class Fields {
  constructor(
    readonly op: string,
    readonly o: Record<string, unknown>,
  ) {}

  fail(field: string, expected: string): never {
    const v = this.o[field];
    const got = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
    throw new RuntimeError(
      'bad_response',
      `runtime ${this.op}: field "${field}": expected ${expected}, got ${got}`,
    );
  }

  /** Absent and null both mean "not given". */
  string(field: string): string | undefined {
    const v = this.o[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(field, 'a string');
    return v;
  }

  numericDate(field: string): number | undefined {
    const v = this.o[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.fail(field, 'a NumericDate (seconds)');
    return v;
  }

  strings(field: string): string[] | undefined {
    const v = this.o[field];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(field, 'an array of strings');
    return v as string[];
  }

  /** RFC 7662 §2.2: a space-separated string; some servers send an array. */
  scope(field: string): string[] | undefined {
    const v = this.o[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v.split(' ').filter((s) => s.length > 0);
    return this.strings(field);
  }

  object(field: string): Record<string, unknown> | undefined {
    const v = this.o[field];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) this.fail(field, 'an object');
    return v;
  }
}

function fieldsOf(v: unknown, op: string): Fields {
  if (!isObject(v)) {
    const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
    throw new RuntimeError('bad_response', `runtime ${op}: expected a JSON object, got ${got}`);
  }
  return new Fields(op, v);
}

const INACTIVE: TokenClaims = Object.freeze({ active: false });

/** Introspection claims. An inactive answer carries nothing else (RFC 7662 §2.2). */
export function parseClaims(body: unknown, op = 'introspect'): TokenClaims {
  const f: Fields = fieldsOf(body, op);
  const active = f.o.active;
  if (typeof active !== 'boolean') f.fail('active', 'a boolean');
  if (!active) return INACTIVE;
  const claims: Mutable<TokenClaims> = { active: true };
  const scope = f.scope('scope');
  if (scope !== undefined) claims.scope = scope;
  const sub = f.string('sub');
  if (sub !== undefined) claims.sub = sub;
  const clientId = f.string('client_id');
  if (clientId !== undefined) claims.clientId = clientId;
  const exp = f.numericDate('exp');
  if (exp !== undefined) claims.exp = exp;
  const iat = f.numericDate('iat');
  if (iat !== undefined) claims.iat = iat;
  const tools = f.strings('tools');
  if (tools !== undefined) claims.tools = tools;
  const appId = f.string('app_id');
  if (appId !== undefined) claims.appId = appId;
  const masId = f.string('mas_id');
  if (masId !== undefined) claims.masId = masId;
  const userInputId = f.string('user_input_id');
  if (userInputId !== undefined) claims.userInputId = userInputId;
  const act = f.object('act');
  if (act !== undefined) claims.act = act;
  return Object.freeze(claims);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A token response. `expiresAt` comes from `expires_in` (relative to
 * `nowSeconds`), else from the JWT's own `exp` (read, not trusted: it only
 * bounds how long we cache the token).
 */
export function parseIssuedToken(body: unknown, op: string, nowSeconds: number): IssuedToken {
  const f: Fields = fieldsOf(body, op);
  const token = f.o.access_token;
  if (typeof token !== 'string' || token.length === 0) f.fail('access_token', 'a non-empty string');
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new RuntimeError(
      'bad_response',
      `runtime ${op}: field "access_token": longer than ${MAX_TOKEN_LENGTH} characters`,
    );
  }
  if (!B64TOKEN.test(token)) {
    // It would be injected as `Authorization: Bearer <token>`.
    throw new RuntimeError('bad_response', `runtime ${op}: field "access_token": not an RFC 6750 b64token`);
  }
  const tokenType = f.string('token_type');
  if (tokenType !== undefined && !/^(bearer|n_a)$/i.test(tokenType)) {
    throw new RuntimeError(
      'bad_response',
      `runtime ${op}: field "token_type": only Bearer tokens can be injected, got another type`,
    );
  }
  const issuedType = f.string('issued_token_type');
  if (issuedType !== undefined && !ACCESS_TOKEN_TYPES.has(issuedType)) {
    throw new RuntimeError(
      'bad_response',
      `runtime ${op}: field "issued_token_type": not an access token or JWT type (RFC 8693 §3)`,
    );
  }
  const expiresIn = f.o.expires_in;
  if (expiresIn !== undefined && expiresIn !== null) {
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 0) {
      f.fail('expires_in', 'a non-negative number of seconds');
    }
    return { accessToken: token, expiresAt: nowSeconds + expiresIn };
  }
  const exp = jwtExpiry(token);
  return exp === undefined ? { accessToken: token } : { accessToken: token, expiresAt: exp };
}
