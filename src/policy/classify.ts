// Classifies one request as MCP, A2A, LLM egress or other, from the method,
// the normalized path, the headers and — where needed — the JSON-RPC body.
// Pure and allocation-light: the body is read only for POSTs to a JSON-RPC
// endpoint, and only once.
import { type JsonRpcRead, readJsonRpc } from './jsonrpc.js';
import { normalizePath } from './path.js';
import { matchRestRoute, type ProtocolPatterns } from './patterns.js';
import { type HttpRequestAttributes, hasBody, hostKey } from './request.js';

export type Protocol = 'mcp' | 'a2a' | 'llm' | 'other';

/**
 * Short machine-readable reason: how a request matched, or why it is `other`.
 * Appears in deny messages, decision logs and metrics.
 */
export type ClassifyWhy =
  // matched
  | 'llm_host'
  | 'mcp_streamable_http'
  | 'mcp_sse_stream'
  | 'mcp_sse_message'
  | 'a2a_card'
  | 'a2a_jsonrpc'
  | 'a2a_rest'
  // other
  | 'invalid_path'
  | 'unknown_route'
  | 'method_not_allowed'
  | 'body_required'
  | 'not_json_rpc'
  | 'unknown_method'
  | 'mixed_batch'
  | 'batch_not_allowed'
  | 'session_required'
  | 'mcp_header_mismatch'
  | 'mcp_name_missing'
  | 'mcp_tool_name_missing';

export interface McpDetails {
  /** `http+sse` is the 2024-11-05 transport; `streamable-http` covers 2025-03-26 and later. */
  readonly transport: 'http+sse' | 'streamable-http';
  /** Best guess of the protocol revision (the MCP-Protocol-Version header when sent). */
  readonly revision: string;
  /** Request and notification methods in body order (from headers when no body was sent). */
  readonly methods: readonly string[];
  /** `params.name` of every `tools/call`, without duplicates. */
  readonly tools: readonly string[];
  readonly toolCall: boolean;
  /** False when the body was cut: methods and tools are hints only, never grounds to allow. */
  readonly complete: boolean;
  /** Where methods and tools were read from. */
  readonly from: 'body' | 'headers' | 'none';
  readonly batch: boolean;
}

export interface A2aDetails {
  readonly binding: 'card' | 'jsonrpc' | 'rest';
  readonly version?: '0.2' | '0.3' | '1.0';
  /** The JSON-RPC method or REST operation (first of a batch). */
  readonly method?: string;
  readonly methods: readonly string[];
  readonly complete: boolean;
}

export interface Classification {
  readonly protocol: Protocol;
  readonly why: ClassifyWhy;
  /** Human detail for `other` (e.g. the path or JSON problem); never contains a token. */
  readonly detail?: string;
  /** Normalized, lower-cased path ('' when the path was invalid). */
  readonly path: string;
  readonly mcp?: McpDetails;
  readonly a2a?: A2aDetails;
}

export interface ClassifyOptions {
  /** `spec.llm_host` of the source's MAS: a request to this host is LLM egress. */
  readonly llmHost?: string;
  /** How to read a body that is valid as both MCP and A2A (e.g. `tasks/get`): the destination's kind. */
  readonly prefer?: 'mcp' | 'a2a';
}

/** Methods whose target MCP 2026-07-28 mirrors into `Mcp-Name` (SEP-2243). */
const NAMED_BY: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'resources/subscribe': 'uri',
  'resources/unsubscribe': 'uri',
};

const NO_STRINGS: readonly string[] = Object.freeze([]);

export function classify(
  req: HttpRequestAttributes,
  opts: ClassifyOptions,
  patterns: ProtocolPatterns,
): Classification {
  if (opts.llmHost && hostKey(req.host) === hostKey(opts.llmHost)) {
    return { protocol: 'llm', why: 'llm_host', path: '' };
  }
  const np = normalizePath(req.path);
  if (!np.ok) return other('invalid_path', '', np.reason);
  // The data plane normalizes dot-segments before the Check (rendered HCM:
  // normalize_path); one that still carries them forwards the raw path, and the
  // app may route it elsewhere than the gate's reading (path-agreement suite).
  if (np.dotSegments) return other('invalid_path', '', 'dot_segment');
  const key = np.key;
  const method = req.method;

  if (patterns.a2a.cardPaths.has(key)) {
    if (method !== 'GET' && method !== 'HEAD')
      return other('method_not_allowed', key, `${method} on an agent card`);
    const version = key.endsWith('/agent.json') ? '0.2' : a2aVersionHeader(req.headers.get('a2a-version'));
    return {
      protocol: 'a2a',
      why: 'a2a_card',
      path: key,
      a2a: { binding: 'card', version, methods: NO_STRINGS, complete: true },
    };
  }

  const mcp = patterns.mcp;
  const isStreamable = mcp.endpoints.has(key);
  const isSseMessage = mcp.messageEndpoints.has(key);
  const isA2aRpc = patterns.a2a.jsonRpcPaths.has(key);

  if (method === 'POST' && (isStreamable || isSseMessage || isA2aRpc)) {
    const viaRest = isA2aRpc ? undefined : matchRestRoute(patterns, method, key);
    const c = classifyPost(req, key, opts, patterns, isStreamable || isSseMessage, isA2aRpc, isSseMessage);
    // A POST path can be both an MCP endpoint and a REST route only by configuration; the body decides first.
    if (c.protocol === 'other' && viaRest?.methodAllowed) return rest(key, viaRest.route);
    return c;
  }
  if (mcp.sseEndpoints.has(key)) {
    if (method !== 'GET') return other('method_not_allowed', key, `${method} on the MCP SSE endpoint`);
    return mcpResult(
      key,
      'mcp_sse_stream',
      'http+sse',
      '2024-11-05',
      NO_STRINGS,
      NO_STRINGS,
      true,
      'none',
      false,
    );
  }
  if (isStreamable && (method === 'GET' || method === 'DELETE')) {
    // DELETE ends a session (2025-03-26 §Session Management): meaningless without one.
    if (method === 'DELETE' && !req.headers.get('mcp-session-id')) {
      return other('session_required', key, 'DELETE without Mcp-Session-Id');
    }
    const revision = req.headers.get('mcp-protocol-version') || '2025-03-26';
    return mcpResult(
      key,
      'mcp_streamable_http',
      'streamable-http',
      revision,
      NO_STRINGS,
      NO_STRINGS,
      true,
      'none',
      false,
    );
  }
  const r = matchRestRoute(patterns, method, key);
  if (r?.methodAllowed) return rest(key, r.route);
  if (r || isStreamable || isSseMessage || isA2aRpc) {
    return other('method_not_allowed', key, `${method} is not a method of this endpoint`);
  }
  return other('unknown_route', key);
}

function rest(key: string, route: { op: string; version: '0.3' | '1.0' }): Classification {
  return {
    protocol: 'a2a',
    why: 'a2a_rest',
    path: key,
    a2a: { binding: 'rest', version: route.version, method: route.op, methods: [route.op], complete: true },
  };
}

function classifyPost(
  req: HttpRequestAttributes,
  key: string,
  opts: ClassifyOptions,
  patterns: ProtocolPatterns,
  mcpPath: boolean,
  a2aPath: boolean,
  sseMessage: boolean,
): Classification {
  const h = req.headers;
  const mcpMethodHeader = h.get('mcp-method');
  const versionHeader = h.get('mcp-protocol-version');
  const transport = sseMessage ? 'http+sse' : 'streamable-http';
  const revision = sseMessage
    ? '2024-11-05'
    : (versionHeader ?? (mcpMethodHeader !== undefined ? '2026-07-28' : '2025-03-26'));
  const why = sseMessage ? 'mcp_sse_message' : 'mcp_streamable_http';

  if (!hasBody(req)) {
    // MCP 2026-07-28 mirrors the method (and name) into headers so that a
    // proxy that does not see the body can still route: trust them then.
    if (mcpPath && mcpMethodHeader !== undefined) {
      if (!patterns.mcp.methods.has(mcpMethodHeader)) {
        return other('unknown_method', key, `Mcp-Method "${mcpMethodHeader}"`);
      }
      const field = NAMED_BY[mcpMethodHeader];
      let tools = NO_STRINGS;
      if (field !== undefined) {
        const name = decodeMcpHeader(h.get('mcp-name'));
        if (name === undefined)
          return other('mcp_name_missing', key, `${mcpMethodHeader} without a valid Mcp-Name`);
        if (mcpMethodHeader === 'tools/call') tools = [name];
      }
      return mcpResult(key, why, transport, revision, [mcpMethodHeader], tools, true, 'headers', false);
    }
    return other('body_required', key, 'POST to a JSON-RPC endpoint without a body');
  }

  const body = req.body as { data: Uint8Array; truncated: boolean };
  const read: JsonRpcRead = readJsonRpc(body.data, body.truncated);
  if (read.kind === 'invalid') return other('not_json_rpc', key, `${read.reason} at byte ${read.offset}`);
  const complete = read.kind === 'ok';
  const batch = read.batch;

  const methods: string[] = [];
  let responses = 0;
  let mcpAll = true;
  let a2aAll = true;
  let unknown: string | undefined;
  const entries = read.kind === 'ok' ? read.messages : read.seen;
  for (const m of entries) {
    if (m.method === undefined) {
      // A response (client answering a server request) — MCP only; a hint without a method yet says nothing.
      if (complete) {
        responses++;
        a2aAll = false;
      }
      continue;
    }
    methods.push(m.method);
    const inMcp = patterns.mcp.methods.has(m.method);
    const inA2a = patterns.a2a.methods.has(m.method);
    if (!inMcp) mcpAll = false;
    if (!inA2a) a2aAll = false;
    if (!inMcp && !inA2a) unknown ??= m.method;
  }

  let asMcp = mcpPath && mcpAll;
  let asA2a = a2aPath && a2aAll && responses === 0;
  if (asMcp && asA2a) {
    const mcpHint = mcpMethodHeader !== undefined || versionHeader !== undefined || h.has('mcp-session-id');
    const a2aHint = h.has('a2a-version');
    const pick = mcpHint && !a2aHint ? 'mcp' : a2aHint && !mcpHint ? 'a2a' : (opts.prefer ?? 'mcp');
    asMcp = pick === 'mcp';
    asA2a = !asMcp;
  }
  if (!asMcp && !asA2a) {
    if (unknown !== undefined) return other('unknown_method', key, `method "${unknown}"`);
    if (!mcpAll && !a2aAll && responses === 0)
      return other('mixed_batch', key, 'MCP and A2A methods in one batch');
    if (responses > 0 && !mcpPath)
      return other('unknown_method', key, 'JSON-RPC response on an A2A endpoint');
    return other(
      'unknown_method',
      key,
      mcpAll ? 'MCP method on an A2A endpoint' : 'A2A method on an MCP endpoint',
    );
  }

  if (asA2a) {
    return {
      protocol: 'a2a',
      why: 'a2a_jsonrpc',
      path: key,
      a2a: { binding: 'jsonrpc', version: a2aVersion(methods[0]), method: methods[0], methods, complete },
    };
  }

  // MCP: batching was removed in 2025-06-18; headers must agree with the body.
  if (batch && versionHeader !== undefined && versionHeader >= '2025-06-18') {
    return other('batch_not_allowed', key, `JSON-RPC batch with MCP-Protocol-Version ${versionHeader}`);
  }
  const tools: string[] = [];
  let toolCall = false;
  for (const m of entries) {
    if (m.method !== 'tools/call') continue;
    toolCall = true;
    if (m.name === undefined) {
      if (complete) return other('mcp_tool_name_missing', key, 'tools/call without a string params.name');
      continue;
    }
    if (!tools.includes(m.name)) tools.push(m.name);
  }
  if (mcpMethodHeader !== undefined) {
    const mismatch = headerMismatch(mcpMethodHeader, h.get('mcp-name'), entries, complete, batch);
    if (mismatch !== undefined) return other('mcp_header_mismatch', key, mismatch);
  }
  return mcpResult(key, why, transport, revision, methods, tools, complete, 'body', batch, toolCall);
}

/** SEP-2243: a body, when present, is authoritative and the headers must mirror it exactly. */
function headerMismatch(
  methodHeader: string,
  nameHeader: string | undefined,
  entries: readonly { method?: string; name?: string; uri?: string }[],
  complete: boolean,
  batch: boolean,
): string | undefined {
  if (batch) return 'Mcp-Method with a batch body';
  const m = entries[0];
  if (m === undefined || m.method === undefined) {
    return complete ? 'Mcp-Method on a response body' : undefined;
  }
  if (m.method !== methodHeader) return `Mcp-Method "${methodHeader}" but body method "${m.method}"`;
  const field = NAMED_BY[m.method];
  if (field === undefined || nameHeader === undefined) return undefined;
  const bodyValue = field === 'name' ? m.name : m.uri;
  if (bodyValue === undefined && !complete) return undefined;
  const decoded = decodeMcpHeader(nameHeader);
  if (decoded === undefined) return 'Mcp-Name is not a valid header value';
  if (decoded !== bodyValue) return `Mcp-Name does not match params.${field}`;
  return undefined;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** SEP-2243 header values: plain, or `=?base64?<b64 of UTF-8>?=` for unsafe text. */
export function decodeMcpHeader(v: string | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (!v.startsWith('=?base64?')) return v;
  if (!v.endsWith('?=') || v.length < 11) return undefined;
  const b64 = v.slice(9, -2);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  try {
    return UTF8.decode(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}

function a2aVersionHeader(v: string | undefined): '0.2' | '0.3' | '1.0' | undefined {
  if (v === undefined) return undefined;
  const mm = v.trim().split('.').slice(0, 2).join('.');
  return mm === '0.2' || mm === '0.3' || mm === '1.0' ? mm : undefined;
}

function a2aVersion(method: string | undefined): '0.2' | '0.3' | '1.0' | undefined {
  if (method === undefined) return undefined;
  if (/^[A-Z]/.test(method)) return '1.0';
  if (
    method === 'tasks/send' ||
    method === 'tasks/sendSubscribe' ||
    method.startsWith('tasks/pushNotification/')
  ) {
    return '0.2';
  }
  return '0.3';
}

function mcpResult(
  key: string,
  why: ClassifyWhy,
  transport: McpDetails['transport'],
  revision: string,
  methods: readonly string[],
  tools: readonly string[],
  complete: boolean,
  from: McpDetails['from'],
  batch: boolean,
  toolCall = methods.includes('tools/call'),
): Classification {
  return {
    protocol: 'mcp',
    why,
    path: key,
    mcp: { transport, revision, methods, tools, toolCall, complete, from, batch },
  };
}

function other(why: ClassifyWhy, path: string, detail?: string): Classification {
  return { protocol: 'other', why, path, detail };
}
