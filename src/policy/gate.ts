// The protocol gate: which protocols each app type may send (outbound) and
// accept (inbound) — ARCHITECTURE.md §3. It runs before anything else and
// never needs the runtime: a request outside the table is 403
// `protocol_violation`.
import type { Classification } from './classify.js';
import { PolicyConfigError } from './patterns.js';
import { type AppType, type Deny, deny, isAppType } from './types.js';

export type GateProtocol = 'mcp' | 'a2a' | 'llm';

export interface GateTable {
  readonly outbound: Readonly<Record<AppType, readonly GateProtocol[]>>;
  /** `unenforced`: requests to this app type are not checked at all (entry points). */
  readonly inbound: Readonly<Record<AppType, readonly ('mcp' | 'a2a')[] | 'unenforced'>>;
}

export const DEFAULT_GATE_TABLE: GateTable = {
  outbound: { agent: ['mcp', 'a2a', 'llm'], client: ['mcp', 'a2a'], mcp_server: [] },
  inbound: { agent: ['a2a', 'mcp'], mcp_server: ['mcp'], client: 'unenforced' },
};

const NAMES: Record<GateProtocol | 'other', string> = {
  mcp: 'MCP',
  a2a: 'A2A',
  llm: 'LLM egress',
  other: 'a protocol the gate knows',
};

/** True when requests to apps of this type are enforced (inbound). */
export function inboundEnforced(table: GateTable, type: AppType): boolean {
  return table.inbound[type] !== 'unenforced';
}

/**
 * The outbound row: deny unless `type` may send this protocol. `entryApi`:
 * the request is a call of an entry-point agent's own prompt API
 * (httpRequestSchema); it counts as A2A — one agent's API called by another.
 */
export function gateOutbound(
  table: GateTable,
  type: AppType,
  c: Classification,
  entryApi = false,
): Deny | undefined {
  const allowed = table.outbound[type];
  const p = c.protocol === 'other' && entryApi ? 'a2a' : c.protocol;
  if (p !== 'other' && allowed.includes(p)) return undefined;
  return violation('send', type, c, allowed);
}

/** The inbound row: deny unless apps of `type` accept this protocol (unenforced types accept all). */
export function gateInbound(
  table: GateTable,
  type: AppType,
  c: Classification,
  entryApi = false,
): Deny | undefined {
  const allowed = table.inbound[type];
  if (allowed === 'unenforced') return undefined;
  const p = c.protocol === 'other' && entryApi ? 'a2a' : c.protocol;
  if ((p === 'mcp' || p === 'a2a') && allowed.includes(p)) return undefined;
  return violation('accept', type, c, allowed);
}

function violation(
  verb: 'send' | 'accept',
  type: AppType,
  c: Classification,
  allowed: readonly string[],
): Deny {
  const what =
    c.protocol === 'other'
      ? `request is not MCP, A2A or LLM egress (${c.why}${c.detail ? `: ${c.detail}` : ''})`
      : `an ${type} may not ${verb} ${NAMES[c.protocol]}`;
  const may = allowed.length === 0 ? 'nothing' : allowed.map((p) => NAMES[p as GateProtocol]).join(', ');
  return deny('protocol_violation', `${what}; ${type} may ${verb}: ${may}`);
}

/**
 * Parses `protocols.appTypes`, e.g.
 *   agent: { outbound: [mcp, a2a, llm], inbound: [a2a, mcp] }
 *   client: { inbound: unenforced }
 * Rows or directions left out keep their defaults.
 */
export function parseGateTable(raw: unknown, field = 'protocols.appTypes'): GateTable {
  if (raw === undefined || raw === null) return DEFAULT_GATE_TABLE;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new PolicyConfigError(field, 'must be a mapping');
  const outbound = { ...DEFAULT_GATE_TABLE.outbound };
  const inbound = { ...DEFAULT_GATE_TABLE.inbound };
  for (const [type, row] of Object.entries(raw as Record<string, unknown>)) {
    const at = `${field}.${type}`;
    if (!isAppType(type))
      throw new PolicyConfigError(at, 'unknown app type (expected agent, client or mcp_server)');
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new PolicyConfigError(at, 'must be a mapping');
    for (const [dir, v] of Object.entries(row as Record<string, unknown>)) {
      if (dir === 'outbound') outbound[type] = protocols(v, `${at}.outbound`, ['mcp', 'a2a', 'llm']);
      else if (dir === 'inbound') {
        inbound[type] =
          v === 'unenforced'
            ? 'unenforced'
            : (protocols(v, `${at}.inbound`, ['mcp', 'a2a']) as ('mcp' | 'a2a')[]);
      } else throw new PolicyConfigError(`${at}.${dir}`, 'unknown key (expected outbound or inbound)');
    }
  }
  return { outbound, inbound };
}

function protocols(v: unknown, field: string, allowed: readonly GateProtocol[]): GateProtocol[] {
  if (!Array.isArray(v)) throw new PolicyConfigError(field, `must be a list of ${allowed.join(', ')}`);
  return v.map((p, i) => {
    if (typeof p !== 'string' || !allowed.includes(p as GateProtocol)) {
      throw new PolicyConfigError(`${field}[${i}]`, `must be one of ${allowed.join(', ')}`);
    }
    return p as GateProtocol;
  });
}
