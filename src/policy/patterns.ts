// The protocol patterns the gate matches: endpoints, JSON-RPC method names and
// REST routes of MCP and A2A, with defaults verified against the specs and the
// official SDKs (see README.md "Protocol facts"), and the parser of the
// config-file key `protocols`. Patterns are compiled once (normalized,
// lower-cased paths in Sets; REST templates into segment matchers).
import { normalizePath } from './path.js';

/** One REST route of the A2A HTTP+JSON binding. `{x}` matches one segment. */
export interface RestRouteSpec {
  readonly methods: readonly string[];
  /** e.g. `/v1/tasks/{id}:cancel`; `{x}:verb` matches a segment ending in `:verb`. */
  readonly path: string;
  /** The operation, named as that protocol version names it. */
  readonly op: string;
  readonly version: '0.3' | '1.0';
  /** v1.0 routes may carry an optional leading `/{tenant}` segment. */
  readonly tenant: boolean;
}

/** Plain-data patterns, as defaults or as given in the config file. */
export interface ProtocolPatternsSpec {
  readonly mcp: {
    /** Streamable HTTP endpoints (2025-03-26 and later): POST, GET, DELETE. */
    readonly endpoints: readonly string[];
    /** 2024-11-05 HTTP+SSE: the GET event-stream endpoint. */
    readonly sseEndpoints: readonly string[];
    /** 2024-11-05 HTTP+SSE: the POST message endpoint the stream announces. */
    readonly messageEndpoints: readonly string[];
    /** Client→server request and notification methods; `prefix/*` matches a family. */
    readonly methods: readonly string[];
  };
  readonly a2a: {
    /** Agent card paths (GET/HEAD). */
    readonly cardPaths: readonly string[];
    /** Paths that take JSON-RPC POSTs (the card's `url`). */
    readonly jsonRpcPaths: readonly string[];
    readonly methods: readonly string[];
    /** Where the REST binding is mounted; `''` is the root. */
    readonly restBasePaths: readonly string[];
    readonly restRoutes: readonly RestRouteSpec[];
  };
}

/** MCP client→server methods: 2024-11-05 … 2025-11-25 schema, plus 2026-07-28 additions. */
export const DEFAULT_MCP_METHODS: readonly string[] = [
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  // 2025-11-25 (experimental tasks)
  'tasks/get',
  'tasks/list',
  'tasks/cancel',
  'tasks/result',
  // 2026-07-28 (stateless core)
  'server/discover',
  'subscriptions/listen',
  'notifications/*',
];

/** A2A JSON-RPC methods of every generation. */
export const DEFAULT_A2A_METHODS: readonly string[] = [
  // v0.1 / v0.2
  'tasks/send',
  'tasks/sendSubscribe',
  'tasks/pushNotification/set',
  'tasks/pushNotification/get',
  // v0.2 / v0.3
  'message/send',
  'message/stream',
  'tasks/get',
  'tasks/cancel',
  'tasks/resubscribe',
  'tasks/pushNotificationConfig/set',
  'tasks/pushNotificationConfig/get',
  'tasks/pushNotificationConfig/list',
  'tasks/pushNotificationConfig/delete',
  'agent/getAuthenticatedExtendedCard',
  // v1.0
  'SendMessage',
  'SendStreamingMessage',
  'GetTask',
  'ListTasks',
  'CancelTask',
  'SubscribeToTask',
  'CreateTaskPushNotificationConfig',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
  'GetExtendedAgentCard',
];

function routes(version: '0.3' | '1.0', prefix: string, rows: [string[], string, string][]): RestRouteSpec[] {
  return rows.map(([methods, path, op]) => ({
    methods,
    path: prefix + path,
    op,
    version,
    tenant: version === '1.0',
  }));
}

/** A2A HTTP+JSON routes: v0.3 under `/v1` (a2a-js SDK), v1.0 at the root (a2a.proto http rules). */
export const DEFAULT_A2A_REST_ROUTES: readonly RestRouteSpec[] = [
  ...routes('0.3', '/v1', [
    [['POST'], '/message:send', 'message/send'],
    [['POST'], '/message:stream', 'message/stream'],
    [['GET'], '/tasks', 'tasks/list'],
    [['POST'], '/tasks/{id}:cancel', 'tasks/cancel'],
    [['GET', 'POST'], '/tasks/{id}:subscribe', 'tasks/resubscribe'],
    [['GET'], '/tasks/{id}', 'tasks/get'],
    [['POST'], '/tasks/{id}/pushNotificationConfigs', 'tasks/pushNotificationConfig/set'],
    [['GET'], '/tasks/{id}/pushNotificationConfigs', 'tasks/pushNotificationConfig/list'],
    [['GET'], '/tasks/{id}/pushNotificationConfigs/{configId}', 'tasks/pushNotificationConfig/get'],
    [['DELETE'], '/tasks/{id}/pushNotificationConfigs/{configId}', 'tasks/pushNotificationConfig/delete'],
    [['GET'], '/card', 'agent/getAuthenticatedExtendedCard'],
  ]),
  ...routes('1.0', '', [
    [['POST'], '/message:send', 'SendMessage'],
    [['POST'], '/message:stream', 'SendStreamingMessage'],
    [['GET'], '/tasks', 'ListTasks'],
    [['POST'], '/tasks/{id}:cancel', 'CancelTask'],
    [['GET', 'POST'], '/tasks/{id}:subscribe', 'SubscribeToTask'],
    [['GET'], '/tasks/{id}', 'GetTask'],
    [['POST'], '/tasks/{id}/pushNotificationConfigs', 'CreateTaskPushNotificationConfig'],
    [['GET'], '/tasks/{id}/pushNotificationConfigs', 'ListTaskPushNotificationConfigs'],
    [['GET'], '/tasks/{id}/pushNotificationConfigs/{configId}', 'GetTaskPushNotificationConfig'],
    [['DELETE'], '/tasks/{id}/pushNotificationConfigs/{configId}', 'DeleteTaskPushNotificationConfig'],
    [['GET'], '/extendedAgentCard', 'GetExtendedAgentCard'],
  ]),
];

export const DEFAULT_PROTOCOL_PATTERNS_SPEC: ProtocolPatternsSpec = {
  mcp: {
    endpoints: ['/mcp'],
    sseEndpoints: ['/sse'],
    messageEndpoints: ['/messages'],
    methods: DEFAULT_MCP_METHODS,
  },
  a2a: {
    cardPaths: ['/.well-known/agent.json', '/.well-known/agent-card.json'],
    jsonRpcPaths: ['/', '/a2a', '/a2a/v1'],
    methods: DEFAULT_A2A_METHODS,
    restBasePaths: [''],
    restRoutes: DEFAULT_A2A_REST_ROUTES,
  },
};

/** Method names: exact names plus `prefix/*` families (JSON-RPC names are case-sensitive). */
export interface MethodSet {
  has(method: string): boolean;
}

type Segment =
  | { readonly kind: 'lit'; readonly text: string }
  | { readonly kind: 'any'; readonly suffix: string };

export interface CompiledRestRoute {
  readonly spec: RestRouteSpec;
  readonly segments: readonly Segment[];
}

/** Compiled patterns: what `classify` reads on every request. */
export interface ProtocolPatterns {
  readonly spec: ProtocolPatternsSpec;
  readonly mcp: {
    readonly endpoints: ReadonlySet<string>;
    readonly sseEndpoints: ReadonlySet<string>;
    readonly messageEndpoints: ReadonlySet<string>;
    readonly methods: MethodSet;
  };
  readonly a2a: {
    readonly cardPaths: ReadonlySet<string>;
    readonly jsonRpcPaths: ReadonlySet<string>;
    readonly methods: MethodSet;
    readonly rest: readonly CompiledRestRoute[];
  };
}

export class PolicyConfigError extends Error {
  override name = 'PolicyConfigError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

export function compileProtocolPatterns(spec: ProtocolPatternsSpec, field = 'protocols'): ProtocolPatterns {
  const rest: CompiledRestRoute[] = [];
  spec.a2a.restBasePaths.forEach((base, bi) => {
    const b = base === '' || base === '/' ? '' : pathKey(base, `${field}.a2a.restBasePaths[${bi}]`);
    spec.a2a.restRoutes.forEach((r, ri) => {
      rest.push({ spec: r, segments: compileTemplate(b + r.path, `${field}.a2a.restRoutes[${ri}].path`) });
    });
  });
  return {
    spec,
    mcp: {
      endpoints: pathSet(spec.mcp.endpoints, `${field}.mcp.endpoints`),
      sseEndpoints: pathSet(spec.mcp.sseEndpoints, `${field}.mcp.sseEndpoints`),
      messageEndpoints: pathSet(spec.mcp.messageEndpoints, `${field}.mcp.messageEndpoints`),
      methods: methodSet(spec.mcp.methods, `${field}.mcp.methods`),
    },
    a2a: {
      cardPaths: pathSet(spec.a2a.cardPaths, `${field}.a2a.cardPaths`),
      jsonRpcPaths: pathSet(spec.a2a.jsonRpcPaths, `${field}.a2a.jsonRpcPaths`),
      methods: methodSet(spec.a2a.methods, `${field}.a2a.methods`),
      rest,
    },
  };
}

export const DEFAULT_PROTOCOL_PATTERNS: ProtocolPatterns = compileProtocolPatterns(
  DEFAULT_PROTOCOL_PATTERNS_SPEC,
);

/** Matches a normalized, lower-cased path against the REST routes. */
export function matchRestRoute(
  patterns: ProtocolPatterns,
  method: string,
  key: string,
): { route: RestRouteSpec; methodAllowed: boolean } | undefined {
  const segs = key === '/' ? [] : key.slice(1).split('/');
  let pathOnly: RestRouteSpec | undefined;
  for (const r of patterns.a2a.rest) {
    const direct = matches(r.segments, segs, 0);
    const viaTenant = !direct && r.spec.tenant && segs.length > 0 && matches(r.segments, segs, 1);
    if (!direct && !viaTenant) continue;
    if (r.spec.methods.includes(method)) return { route: r.spec, methodAllowed: true };
    pathOnly ??= r.spec;
  }
  return pathOnly ? { route: pathOnly, methodAllowed: false } : undefined;
}

function matches(pattern: readonly Segment[], segs: readonly string[], offset: number): boolean {
  if (segs.length - offset !== pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as Segment;
    const s = segs[i + offset] as string;
    if (p.kind === 'lit') {
      if (s !== p.text) return false;
    } else if (s.length <= p.suffix.length || !s.endsWith(p.suffix)) {
      return false;
    }
  }
  return true;
}

function compileTemplate(template: string, field: string): Segment[] {
  const key = pathKey(template, field);
  if (key === '/') return [];
  return key
    .slice(1)
    .split('/')
    .map((seg) => {
      if (!seg.startsWith('{')) {
        if (seg.includes('{') || seg.includes('}'))
          throw new PolicyConfigError(field, `bad segment "${seg}"`);
        return { kind: 'lit', text: seg } as const;
      }
      const close = seg.indexOf('}');
      if (close < 2) throw new PolicyConfigError(field, `bad placeholder in "${seg}"`);
      const suffix = seg.slice(close + 1);
      if (suffix.includes('{') || suffix.includes('}'))
        throw new PolicyConfigError(field, `bad segment "${seg}"`);
      return { kind: 'any', suffix } as const;
    });
}

function pathKey(p: string, field: string): string {
  if (typeof p !== 'string') throw new PolicyConfigError(field, 'must be a string');
  const n = normalizePath(p);
  if (!n.ok) throw new PolicyConfigError(field, `"${p}" is not a valid path (${n.reason})`);
  return n.key;
}

function pathSet(paths: readonly string[], field: string): ReadonlySet<string> {
  return new Set(paths.map((p, i) => pathKey(p, `${field}[${i}]`)));
}

function methodSet(methods: readonly string[], field: string): MethodSet {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  methods.forEach((m, i) => {
    if (typeof m !== 'string' || m === '' || m === '*') {
      throw new PolicyConfigError(`${field}[${i}]`, 'must be a non-empty method name or "prefix/*"');
    }
    if (m.endsWith('/*')) prefixes.push(m.slice(0, -1));
    else if (m.includes('*'))
      throw new PolicyConfigError(`${field}[${i}]`, 'only a trailing "/*" wildcard is allowed');
    else exact.add(m);
  });
  return {
    has(method: string): boolean {
      if (exact.has(method)) return true;
      for (const p of prefixes) if (method.length > p.length && method.startsWith(p)) return true;
      return false;
    },
  };
}

/**
 * Parses the config-file key `protocols` (mcp and a2a parts; `appTypes` is
 * read by `parseGateTable`). A list given replaces the default; `extraMethods`
 * and `extraRestRoutes` add to it. Errors name the field.
 */
export function parseProtocolPatterns(raw: unknown, field = 'protocols'): ProtocolPatterns {
  if (raw === undefined || raw === null) return DEFAULT_PROTOCOL_PATTERNS;
  const top = record(raw, field, ['mcp', 'a2a', 'appTypes']);
  const d = DEFAULT_PROTOCOL_PATTERNS_SPEC;
  const mcpRaw = top.mcp === undefined ? {} : record(top.mcp, `${field}.mcp`, MCP_KEYS);
  const a2aRaw = top.a2a === undefined ? {} : record(top.a2a, `${field}.a2a`, A2A_KEYS);
  const f = (k: string) => `${field}.mcp.${k}`;
  const g = (k: string) => `${field}.a2a.${k}`;
  const spec: ProtocolPatternsSpec = {
    mcp: {
      endpoints: strings(mcpRaw.endpoints, f('endpoints')) ?? d.mcp.endpoints,
      sseEndpoints: strings(mcpRaw.sseEndpoints, f('sseEndpoints')) ?? d.mcp.sseEndpoints,
      messageEndpoints: strings(mcpRaw.messageEndpoints, f('messageEndpoints')) ?? d.mcp.messageEndpoints,
      methods: [
        ...(strings(mcpRaw.methods, f('methods')) ?? d.mcp.methods),
        ...(strings(mcpRaw.extraMethods, f('extraMethods')) ?? []),
      ],
    },
    a2a: {
      cardPaths: strings(a2aRaw.cardPaths, g('cardPaths')) ?? d.a2a.cardPaths,
      jsonRpcPaths: strings(a2aRaw.jsonRpcPaths, g('jsonRpcPaths')) ?? d.a2a.jsonRpcPaths,
      methods: [
        ...(strings(a2aRaw.methods, g('methods')) ?? d.a2a.methods),
        ...(strings(a2aRaw.extraMethods, g('extraMethods')) ?? []),
      ],
      restBasePaths: strings(a2aRaw.restBasePaths, g('restBasePaths')) ?? d.a2a.restBasePaths,
      restRoutes: [...d.a2a.restRoutes, ...restRoutes(a2aRaw.extraRestRoutes, g('extraRestRoutes'))],
    },
  };
  return compileProtocolPatterns(spec, field);
}

const MCP_KEYS = ['endpoints', 'sseEndpoints', 'messageEndpoints', 'methods', 'extraMethods'];
const A2A_KEYS = ['cardPaths', 'jsonRpcPaths', 'methods', 'extraMethods', 'restBasePaths', 'extraRestRoutes'];
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

function record(v: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new PolicyConfigError(field, 'must be a mapping');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new PolicyConfigError(`${field}.${k}`, `unknown key (expected one of: ${allowed.join(', ')})`);
    }
  }
  return o;
}

function strings(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new PolicyConfigError(field, 'must be a list of strings');
  return v.map((s, i) => {
    if (typeof s !== 'string') throw new PolicyConfigError(`${field}[${i}]`, 'must be a string');
    return s;
  });
}

function restRoutes(v: unknown, field: string): RestRouteSpec[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new PolicyConfigError(field, 'must be a list of routes');
  return v.map((r, i) => {
    const at = `${field}[${i}]`;
    const o = record(r, at, ['methods', 'path', 'op', 'version', 'tenant']);
    const methods = (strings(o.methods, `${at}.methods`) ?? []).map((m) => m.toUpperCase());
    if (methods.length === 0)
      throw new PolicyConfigError(`${at}.methods`, 'must list at least one HTTP method');
    methods.forEach((m, k) => {
      if (!HTTP_METHODS.includes(m))
        throw new PolicyConfigError(`${at}.methods[${k}]`, `unknown HTTP method "${m}"`);
    });
    if (typeof o.path !== 'string') throw new PolicyConfigError(`${at}.path`, 'must be a string');
    compileTemplate(o.path, `${at}.path`);
    if (typeof o.op !== 'string' || o.op === '')
      throw new PolicyConfigError(`${at}.op`, 'must be a non-empty string');
    const version = o.version ?? '1.0';
    if (version !== '0.3' && version !== '1.0')
      throw new PolicyConfigError(`${at}.version`, 'must be "0.3" or "1.0"');
    if (o.tenant !== undefined && typeof o.tenant !== 'boolean') {
      throw new PolicyConfigError(`${at}.tenant`, 'must be true or false');
    }
    return { methods, path: o.path, op: o.op, version, tenant: o.tenant ?? version === '1.0' };
  });
}
