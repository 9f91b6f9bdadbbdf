// The `exp` of a JWT (RFC 7519 §4.1.4), read without verifying anything. It
// only bounds how long a token we were handed is cached or remembered; trust
// always comes from the runtime (introspection), never from this.

/** Seconds since the epoch, or undefined when the token is not a JWT with a numeric exp. */
export function jwtExpiry(token: string): number | undefined {
  const first = token.indexOf('.');
  if (first <= 0) return undefined;
  const second = token.indexOf('.', first + 1);
  // JWS compact serialization has exactly three parts (RFC 7515 §7.1).
  if (second < 0 || token.indexOf('.', second + 1) >= 0) return undefined;
  const payload = token.slice(first + 1, second);
  if (payload.length === 0 || payload.length > 8192) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof claims !== 'object' || claims === null) return undefined;
    const exp = (claims as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) && exp >= 0 ? exp : undefined;
  } catch {
    return undefined;
  }
}
