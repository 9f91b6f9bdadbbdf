// Exactly one bearer token from the `authorization` header (RFC 6750 §2.1):
//   credentials = "Bearer" 1*SP b64token
//   b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
// The scheme is case-insensitive (RFC 9110 §11.1). Envoy joins repeated
// headers with ",", a character b64token never contains, so any comma means
// more than one credential was sent: `multiple_tokens`, never "pick one".

export type BearerFailure = 'missing_token' | 'malformed_token' | 'multiple_tokens';

export type BearerResult =
  | { readonly ok: true; readonly token: string }
  | { readonly ok: false; readonly reason: BearerFailure; readonly message: string };

/** Tokens longer than this are refused (JWTs are a few KB at most). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export function extractBearer(headers: ReadonlyMap<string, string>): BearerResult {
  const raw = headers.get('authorization');
  if (raw === undefined) return fail('missing_token', 'no Authorization header');
  if (raw.includes(',')) return fail('multiple_tokens', 'more than one Authorization credential');
  const value = trimOws(raw);
  if (value === '') return fail('malformed_token', 'empty Authorization header');
  const sp = value.indexOf(' ');
  if (sp < 0 || value.slice(0, sp).toLowerCase() !== 'bearer') {
    return fail('malformed_token', 'Authorization scheme is not Bearer');
  }
  let i = sp;
  while (i < value.length && value.charCodeAt(i) === 0x20) i++;
  const token = value.slice(i);
  if (token === '') return fail('malformed_token', 'empty bearer token');
  if (token.length > MAX_TOKEN_LENGTH) return fail('malformed_token', 'bearer token too long');
  if (!B64TOKEN.test(token))
    return fail('malformed_token', 'bearer token has characters outside RFC 6750 b64token');
  return { ok: true, token };
}

/** RFC 9110 §5.5: optional whitespace around a field value is not part of it. */
function trimOws(v: string): string {
  let s = 0;
  let e = v.length;
  while (s < e && (v.charCodeAt(s) === 0x20 || v.charCodeAt(s) === 0x09)) s++;
  while (e > s && (v.charCodeAt(e - 1) === 0x20 || v.charCodeAt(e - 1) === 0x09)) e--;
  return v.slice(s, e);
}

function fail(reason: BearerFailure, message: string): BearerResult {
  return { ok: false, reason, message };
}
