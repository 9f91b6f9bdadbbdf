// What the dev console may say about a header the agent injected: its name,
// a fingerprint of a bearer token (sha256, 12 hex digits) and the claims a
// reader needs to follow the flow (scope, tools, app, actor chain). Never the
// token itself: the value stays inside the data plane.
import { createHash } from 'node:crypto';
import type { HeaderMutation } from './check-response.js';

export interface TokenSummary {
  readonly fingerprint: string;
  readonly scope?: string;
  readonly tools?: readonly string[];
  /** `app_id` claim: the app the token was issued to. */
  readonly appId?: string;
  /** `act.sub` chain, innermost last (RFC 8693 §4.1), as app ids when they are CASA client_id URLs. */
  readonly actors?: readonly string[];
  readonly exp?: number;
}

export interface InjectedHeader {
  readonly name: string;
  readonly action: HeaderMutation['action'];
  /** Set for `authorization: Bearer …`; other headers carry no secret and are shown as is. */
  readonly token?: TokenSummary;
  readonly value?: string;
}

export function fingerprint(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
}

export function describeInjected(muts: readonly HeaderMutation[]): InjectedHeader[] {
  // Host and pseudo-headers are never applied (check-response.ts), so never reported.
  return muts
    .filter((m) => m.name !== 'host' && !m.name.startsWith(':'))
    .map((m) => {
      const bearer = /^bearer\s+(\S+)$/i.exec(m.value);
      if (m.name === 'authorization' && bearer?.[1]) {
        return { name: m.name, action: m.action, token: summarize(bearer[1]) };
      }
      if (m.name === 'authorization') return { name: m.name, action: m.action };
      return { name: m.name, action: m.action, value: m.value };
    });
}

function summarize(token: string): TokenSummary {
  const out: { -readonly [K in keyof TokenSummary]: TokenSummary[K] } = { fingerprint: fingerprint(token) };
  const payload = token.split('.')[1];
  if (!payload) return out;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return out;
  }
  if (typeof claims.scope === 'string') out.scope = claims.scope;
  if (Array.isArray(claims.tools)) out.tools = claims.tools.filter((t): t is string => typeof t === 'string');
  if (typeof claims.app_id === 'string') out.appId = claims.app_id;
  if (typeof claims.exp === 'number') out.exp = claims.exp;
  const actors: string[] = [];
  let act: unknown = claims.act;
  while (act && typeof act === 'object' && actors.length < 8) {
    const sub = (act as { sub?: unknown }).sub;
    if (typeof sub === 'string') actors.push(appIdOf(sub));
    act = (act as { act?: unknown }).act;
  }
  if (actors.length > 0) out.actors = actors;
  return out;
}

/** `http://rt/{app_id}/oauth2/client-metadata.json` → `{app_id}`. */
function appIdOf(clientId: string): string {
  try {
    return new URL(clientId).pathname.split('/').find((s) => s !== '') ?? clientId;
  } catch {
    return clientId;
  }
}
