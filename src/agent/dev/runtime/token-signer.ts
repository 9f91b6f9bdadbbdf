// Signs and verifies the reference runtime's JWTs (jose). One key pair per
// runtime process, published at /.well-known/jwks.json. CASA's runtime lets
// Keycloak sign RS256 tokens; ES256 is the default here (smaller, faster),
// RS256 is available for peers that only speak RSA.
import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';

export type SigningAlg = 'ES256' | 'RS256';

export interface VerifiedToken {
  readonly claims: JWTPayload & Record<string, unknown>;
}

export class TokenSigner {
  readonly #alg: SigningAlg;
  readonly #privateKey: CryptoKey;
  readonly #publicKey: CryptoKey;
  readonly #jwk: JWK;

  private constructor(alg: SigningAlg, privateKey: CryptoKey, publicKey: CryptoKey, jwk: JWK) {
    this.#alg = alg;
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
    this.#jwk = jwk;
  }

  static async create(alg: SigningAlg = 'ES256'): Promise<TokenSigner> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    return new TokenSigner(alg, privateKey, publicKey, { ...jwk, kid, alg, use: 'sig' });
  }

  get alg(): SigningAlg {
    return this.#alg;
  }

  /** The JWK Set document (RFC 7517 §5). */
  jwks(): { keys: JWK[] } {
    return { keys: [this.#jwk] };
  }

  /** Signs `claims` with iat = now, exp = now + ttl, a fresh jti. `nowSeconds` is the runtime clock. */
  sign(
    claims: Record<string, unknown>,
    issuer: string,
    nowSeconds: number,
    ttlSeconds: number,
  ): Promise<string> {
    const iat = Math.floor(nowSeconds);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: this.#alg, kid: this.#jwk.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttlSeconds)
      .setJti(randomUUID())
      .sign(this.#privateKey);
  }

  /** The claims of a token this signer issued and that is unexpired at `nowMs`; undefined otherwise. */
  async verify(token: string, issuer: string, nowMs: number): Promise<VerifiedToken | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#publicKey, {
        issuer,
        algorithms: [this.#alg],
        currentDate: new Date(nowMs),
        requiredClaims: ['exp', 'sub'],
      });
      return { claims: payload as JWTPayload & Record<string, unknown> };
    } catch {
      return undefined;
    }
  }
}
