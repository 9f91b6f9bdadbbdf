// Everything the pure decision needs besides the request: compiled protocol
// patterns, the app-type table and a few switches. Built once at startup (and
// on config reload) by the agent; errors name the config field.
import { DEFAULT_GATE_TABLE, type GateTable, parseGateTable } from './gate.js';
import { JsonPathCache } from './jsonpath.js';
import {
  DEFAULT_PROTOCOL_PATTERNS,
  PolicyConfigError,
  type ProtocolPatterns,
  parseProtocolPatterns,
} from './patterns.js';
import { CALL_TOOLS_SCOPE } from './scope.js';

export interface PolicyConfig {
  readonly patterns: ProtocolPatterns;
  readonly gate: GateTable;
  /** Deny an agent's outbound requests that carry no valid traceparent (`missing_trace_context`). */
  readonly requireTraceContext: boolean;
  /**
   * GET/HEAD of the well-known agent card needs no token: it is the public
   * discovery document (A2A). Authorization is still stripped on the way.
   */
  readonly publicAgentCard: boolean;
  /**
   * A POST to an agent that declares `promptFieldJsonPath`, whose JSON body
   * holds the prompt there, is that agent's own user-facing API (CASA's
   * `{"prompt": …}` entry point): the gate accepts it like A2A.
   */
  readonly entryPointApi: boolean;
  /** MCP/A2A from a managed app to a host that is no MAS app: deny, or pass it through untouched. */
  readonly unmanagedDestination: 'deny' | 'passthrough';
  /** Scope a token for MCP `tools/call` must carry. */
  readonly toolScope: string;
  /** Lower-case header-name prefixes that are CASA-internal: removed from every enforced request. */
  readonly internalHeaderPrefixes: readonly string[];
  /** Compiled promptFieldJsonPath expressions (bounded memo owned by this config). */
  readonly jsonPaths: JsonPathCache;
}

export interface PolicySettings {
  /** The config-file key `protocols` (mcp, a2a, appTypes). */
  readonly protocols?: unknown;
  readonly requireTraceContext?: boolean;
  readonly publicAgentCard?: boolean;
  readonly entryPointApi?: boolean;
  readonly unmanagedDestination?: 'deny' | 'passthrough';
  readonly toolScope?: string;
  readonly internalHeaderPrefixes?: readonly string[];
}

export const DEFAULT_INTERNAL_HEADER_PREFIXES: readonly string[] = ['x-casa-'];

export function createPolicyConfig(s: PolicySettings = {}): PolicyConfig {
  const protocols = s.protocols;
  const appTypes =
    protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols)
      ? (protocols as Record<string, unknown>).appTypes
      : undefined;
  if (
    s.unmanagedDestination !== undefined &&
    s.unmanagedDestination !== 'deny' &&
    s.unmanagedDestination !== 'passthrough'
  ) {
    throw new PolicyConfigError('unmanagedDestination', 'must be deny or passthrough');
  }
  if (
    s.toolScope !== undefined &&
    (typeof s.toolScope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s.toolScope))
  ) {
    throw new PolicyConfigError('toolScope', 'must be one RFC 6749 scope token');
  }
  const prefixes = (s.internalHeaderPrefixes ?? DEFAULT_INTERNAL_HEADER_PREFIXES).map((p, i) => {
    if (typeof p !== 'string' || p === '')
      throw new PolicyConfigError(`internalHeaderPrefixes[${i}]`, 'must be a non-empty string');
    return p.toLowerCase();
  });
  return {
    patterns: protocols === undefined ? DEFAULT_PROTOCOL_PATTERNS : parseProtocolPatterns(protocols),
    gate: appTypes === undefined ? DEFAULT_GATE_TABLE : parseGateTable(appTypes),
    requireTraceContext: s.requireTraceContext ?? true,
    publicAgentCard: s.publicAgentCard ?? true,
    entryPointApi: s.entryPointApi ?? true,
    unmanagedDestination: s.unmanagedDestination ?? 'deny',
    toolScope: s.toolScope ?? CALL_TOOLS_SCOPE,
    internalHeaderPrefixes: prefixes,
    jsonPaths: new JsonPathCache(),
  };
}
