// What an inbound token must prove, and the check of introspection claims
// against it at time `now`. CASA facts (casa-research.md §2.4–2.5): a T3 for
// MCP tools carries scope `call-tools` and a `tools` claim; other tokens
// carry neither, and only need to be active.
import type { Classification } from './classify.js';
import { type AppType, type Deny, deny, type TokenClaims } from './types.js';

/** CASA's scope for MCP tool tokens (T3). */
export const CALL_TOOLS_SCOPE = 'call-tools';

export interface IntrospectionRequirement {
  /**
   * Every tool the request calls. Passed to the runtime's introspection (the
   * casa profile checks them server-side too) and checked against `tools`.
   */
  readonly tools?: readonly string[];
  /** A scope the token must carry. */
  readonly scope?: string;
}

const ACTIVE_ONLY: IntrospectionRequirement = Object.freeze({});

/**
 * To an `mcp_server`, `tools/call` needs the tool scope and every requested
 * tool in the `tools` claim; every other request needs only an active token.
 */
export function requirementFor(
  destinationType: AppType,
  c: Classification,
  toolScope: string = CALL_TOOLS_SCOPE,
): IntrospectionRequirement {
  if (destinationType === 'mcp_server' && c.protocol === 'mcp' && c.mcp?.toolCall) {
    return { tools: c.mcp.tools, scope: toolScope };
  }
  return ACTIVE_ONLY;
}

/**
 * Checks claims against a requirement. `now` is milliseconds since the epoch
 * (Date.now()); `exp` is seconds (RFC 7662 §2.2). A token whose `exp` is at
 * or before `now` is expired even if the runtime said active.
 */
export function checkClaims(
  req: IntrospectionRequirement,
  claims: TokenClaims,
  now: number,
): Deny | undefined {
  if (claims.active !== true) return deny('inactive_token', 'token is not active');
  if (claims.exp !== undefined && claims.exp * 1000 <= now) return deny('expired_token', 'token has expired');
  if (req.scope !== undefined && !(claims.scope ?? []).includes(req.scope)) {
    return deny('insufficient_scope', `token lacks scope ${req.scope}`);
  }
  if (req.tools !== undefined) {
    const granted = claims.tools ?? [];
    for (const t of req.tools) {
      if (!granted.includes(t))
        return deny('tool_not_permitted', `token does not permit tool ${JSON.stringify(t)}`);
    }
  }
  return undefined;
}
