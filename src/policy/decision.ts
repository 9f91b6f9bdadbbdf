// The request decision of ARCHITECTURE.md §3, as pure functions. The agent's
// authorization flow (src/agent/authz) calls them around its I/O:
//
//   const p = plan({ request, source, destination, config, fresh });
//   if (p.kind === 'deny') return p;                       // gate, trace, body, token shape
//   outbound exchange/llm: token = lookup(p.outbound.subject)
//        ?? (whenNoSubjectToken(p, request, config) → issue a T1, or deny)
//        then exchange(token, p.outbound.target)           // runtime
//   inbound verify: claims = introspect(p.inbound.token …, p.inbound.requirement.tools)
//        checkClaims(p.inbound.requirement, claims, now)  // scope.ts
//   inbound entry_point: T1 = issue(p.inbound.destination, p.inbound.userInput)
//   remember(p.inbound.remember, token); return allow(p, { outboundToken })
//
// Time and randomness are inputs: `fresh` ids for a minted traceparent and
// an LLM call id; `now` only where claims are checked.
import { extractBearer } from './bearer.js';
import { type Classification, classify } from './classify.js';
import type { PolicyConfig } from './config.js';
import { gateInbound, gateOutbound, inboundEnforced } from './gate.js';
import { readPrompt } from './prompt.js';
import type { HttpRequestAttributes } from './request.js';
import { type IntrospectionRequirement, requirementFor } from './scope.js';
import { formatTraceparent, isSpanId, isTraceId, parseTraceparent } from './traceparent.js';
import { type Allow, type Decision, type Deny, deny, type Endpoint, type HeaderToSet } from './types.js';

/** Randomness the caller supplies, so the decision stays pure. */
export interface FreshIds {
  /** 32 lower-case hex, not all zero: trace-id of a traceparent the agent mints. */
  readonly traceId: string;
  /** 16 lower-case hex, not all zero: its parent-id. */
  readonly spanId: string;
  /** Value of `x-litellm-call-id` on LLM egress (CASA uses a UUID). */
  readonly llmCallId: string;
}

export interface PlanInput {
  readonly request: HttpRequestAttributes;
  /** The managed app that sent the request (undefined: unmanaged caller). */
  readonly source?: Endpoint;
  /** The managed app the request goes to (undefined: not a MAS app). */
  readonly destination?: Endpoint;
  readonly config: PolicyConfig;
  readonly fresh: FreshIds;
  /**
   * Restrict the Check to one side. Cilium checks both sides at once (the
   * default); an Istio sidecar checks one: `outbound` uses `destination` only
   * as the exchange target, `inbound` ignores `source`.
   */
  readonly only?: 'inbound' | 'outbound';
}

/** Where a remembered token lives: the token that arrived at `app` in trace `traceId`. */
export interface TraceSubject {
  readonly traceId: string;
  readonly app: Endpoint;
}

export interface ExchangeTarget {
  /** The app called. CASA exchanges with this app's id and credentials (casa-research.md §1.8). */
  readonly destination: Endpoint;
  readonly type: 'agent' | 'mcp_server';
  /** `[params.name]` of every MCP `tools/call`; absent for other methods and for agents. */
  readonly tools?: readonly string[];
  /** `<scheme>://<host>/mcp` of an MCP server (from its baseUrl, else from the request). */
  readonly mcpServerUrl?: string;
}

export type OutboundStep =
  /** Exchange the source's trace token for a token to call the destination; inject it. */
  | {
      readonly kind: 'exchange';
      readonly source: Endpoint;
      readonly subject: TraceSubject;
      readonly target: ExchangeTarget;
    }
  /** LLM egress: record the call (id → trace token) and tag it; the app's own Authorization (LLM key) stays. */
  | {
      readonly kind: 'llm';
      readonly source: Endpoint;
      readonly subject: TraceSubject;
      readonly callId: string;
      readonly llmHost: string;
    }
  /** No token goes out: the destination does not check tokens. The app's Authorization is removed. */
  | { readonly kind: 'strip'; readonly source: Endpoint; readonly why: 'client_destination' | 'public_card' }
  /** Unmanaged destination with `unmanagedDestination: passthrough`: forwarded untouched. */
  | { readonly kind: 'passthrough'; readonly source: Endpoint };

export type InboundToken =
  | { readonly from: 'request'; readonly value: string }
  | { readonly from: 'outbound' };

export type InboundStep =
  /** Introspect the token and check it against `requirement`; then remember it for the app's own calls. */
  | {
      readonly kind: 'verify';
      readonly destination: Endpoint;
      readonly token: InboundToken;
      readonly requirement: IntrospectionRequirement;
      /** Absent when the destination type makes no outbound calls (nothing to delegate). */
      readonly remember?: TraceSubject;
    }
  /** A user entry point: issue a T1 for `userInput` with the destination's own credentials; remember it. */
  | {
      readonly kind: 'entry_point';
      readonly destination: Endpoint;
      readonly userInput: string;
      readonly remember: TraceSubject;
    }
  /** The public agent card: no token needed. */
  | { readonly kind: 'public_card'; readonly destination: Endpoint };

export interface Plan {
  readonly kind: 'plan';
  readonly direction: 'inbound' | 'outbound' | 'both' | 'none';
  readonly classification: Classification;
  /** The trace this request belongs to: the one that arrived, or the one minted. */
  readonly traceId?: string;
  /** A `traceparent` to set: none (or a malformed one) arrived and a step needs a trace. */
  readonly traceparent?: string;
  readonly outbound?: OutboundStep;
  readonly inbound?: InboundStep;
  /** CASA-internal headers present on the request (lower-case names), removed on allow. */
  readonly internalHeaders: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);

export function plan(input: PlanInput): Plan | Deny {
  const { request: req, destination, config } = input;
  const source = input.only === 'inbound' ? undefined : input.source;
  const enforcedIn =
    input.only !== 'outbound' && destination !== undefined && inboundEnforced(config.gate, destination.type);
  const prefer =
    destination?.type === 'mcp_server' ? 'mcp' : destination?.type === 'agent' ? 'a2a' : undefined;
  const cls = classify(req, { llmHost: source?.llmHost, prefer }, config.patterns);
  if (source === undefined && !enforcedIn) {
    return { kind: 'plan', direction: 'none', classification: cls, internalHeaders: NONE };
  }

  // 1. The protocol gate, both directions, before anything costs a runtime call.
  //    A POST to an entry-point agent that is no MCP/A2A is a call of its
  //    prompt API (counted as A2A): its body must hold the prompt, which is
  //    read once here and reused for the entry point.
  const promptPath = destination?.type === 'agent' ? destination.app.promptFieldJsonPath : undefined;
  const entryApi =
    cls.protocol === 'other' &&
    promptPath !== undefined &&
    promptPath !== '' &&
    config.entryPointApi &&
    req.method === 'POST' &&
    cls.why !== 'invalid_path';
  if (source !== undefined) {
    const d = gateOutbound(config.gate, source.type, cls, entryApi);
    if (d) return d;
  }
  let entryPrompt: string | undefined;
  if (entryApi) {
    const p = readPrompt(req, promptPath as string, config.jsonPaths);
    if (!p.ok) return p.deny;
    entryPrompt = p.prompt;
  }
  // The destination's row applies even when only the outbound side is ours:
  // it is free, and it spares an exchange for a request the callee refuses.
  if (destination !== undefined) {
    const d = gateInbound(config.gate, destination.type, cls, entryApi);
    if (d) return d;
  }

  // 2. What each side has to do, before we know the trace.
  const publicCard = config.publicAgentCard && cls.protocol === 'a2a' && cls.a2a?.binding === 'card';
  type OutKind = 'exchange' | 'llm' | 'strip' | 'passthrough' | undefined;
  let outKind: OutKind;
  if (source !== undefined) {
    if (publicCard) outKind = 'strip';
    else if (cls.protocol === 'llm') outKind = 'llm';
    else if (destination === undefined) {
      if (config.unmanagedDestination !== 'passthrough') {
        return deny(
          'unknown_workload',
          `${describe(source)} called ${req.host || 'a host'}, which is no app of a MultiAgentSystem`,
        );
      }
      outKind = 'passthrough';
    } else if (destination.type === 'client') outKind = 'strip';
    else outKind = 'exchange';
  }
  const inKind = !enforcedIn
    ? undefined
    : publicCard
      ? 'public_card'
      : outKind === 'exchange'
        ? 'outbound'
        : 'request';

  // 3. The trace: the arrived traceparent, or a minted one where allowed.
  let traceId: string | undefined;
  let traceparent: string | undefined;
  const needsTrace =
    outKind === 'exchange' || outKind === 'llm' || inKind === 'outbound' || inKind === 'request';
  if (needsTrace) {
    const arrived = req.headers.get('traceparent');
    const parsed = arrived === undefined ? undefined : parseTraceparent(arrived);
    if (parsed?.ok) {
      traceId = parsed.context.traceId;
    } else {
      // A client is the first hop of a trace and may start one; an agent must
      // propagate the trace its inbound request carried.
      const agentOut = (outKind === 'exchange' || outKind === 'llm') && source?.type !== 'client';
      if (agentOut && config.requireTraceContext) {
        const why =
          parsed === undefined ? 'no traceparent header' : `traceparent is invalid: ${parsed.reason}`;
        return deny(
          'missing_trace_context',
          `${why}; ${describe(source as Endpoint)} must propagate W3C trace context`,
        );
      }
      const { traceId: t, spanId } = input.fresh;
      if (!isTraceId(t) || !isSpanId(spanId))
        return deny('internal_error', 'fresh trace ids are not valid W3C ids');
      traceId = t;
      traceparent = formatTraceparent({ traceId: t, parentId: spanId, flags: '01' });
    }
  }

  // 4. An MCP server needs the whole message: a cut body could hide the tool.
  const toMcpServer = destination?.type === 'mcp_server' && cls.protocol === 'mcp';
  if (toMcpServer && (outKind === 'exchange' || inKind === 'request') && cls.mcp && !cls.mcp.complete) {
    const size = req.body?.data.length ?? 0;
    return deny(
      'body_invalid',
      `MCP body was cut at ${size} bytes before the message ended; the tool cannot be known`,
    );
  }

  // 5. The steps.
  let outbound: OutboundStep | undefined;
  if (source !== undefined) {
    if (outKind === 'exchange') {
      const dest = destination as Endpoint;
      const type = dest.type as 'agent' | 'mcp_server';
      const tools = type === 'mcp_server' && cls.mcp?.toolCall ? cls.mcp.tools : undefined;
      outbound = {
        kind: 'exchange',
        source,
        subject: { traceId: traceId as string, app: source },
        target: {
          destination: dest,
          type,
          tools,
          mcpServerUrl: type === 'mcp_server' ? mcpServerUrl(dest, req) : undefined,
        },
      };
    } else if (outKind === 'llm') {
      if (input.fresh.llmCallId === '') return deny('internal_error', 'no LLM call id supplied');
      outbound = {
        kind: 'llm',
        source,
        subject: { traceId: traceId as string, app: source },
        callId: input.fresh.llmCallId,
        llmHost: source.llmHost ?? req.host,
      };
    } else if (outKind === 'passthrough') {
      outbound = { kind: 'passthrough', source };
    } else {
      outbound = { kind: 'strip', source, why: publicCard ? 'public_card' : 'client_destination' };
    }
  }

  let inbound: InboundStep | undefined;
  if (enforcedIn) {
    const dest = destination as Endpoint;
    const remember =
      config.gate.outbound[dest.type].length > 0 ? { traceId: traceId as string, app: dest } : undefined;
    if (inKind === 'public_card') {
      inbound = { kind: 'public_card', destination: dest };
    } else {
      const requirement = requirementFor(dest.type, cls, config.toolScope);
      if (inKind === 'outbound') {
        inbound = { kind: 'verify', destination: dest, token: { from: 'outbound' }, requirement, remember };
      } else {
        const bearer = extractBearer(req.headers);
        if (bearer.ok) {
          inbound = {
            kind: 'verify',
            destination: dest,
            token: { from: 'request', value: bearer.token },
            requirement,
            remember,
          };
        } else if (
          bearer.reason === 'missing_token' &&
          dest.type === 'agent' &&
          dest.app.promptFieldJsonPath
        ) {
          // CASA's entry point: an agent that declares where the prompt is starts a trace.
          const p =
            entryPrompt !== undefined
              ? { ok: true as const, prompt: entryPrompt }
              : readPrompt(req, dest.app.promptFieldJsonPath, config.jsonPaths);
          if (!p.ok) return p.deny;
          inbound = {
            kind: 'entry_point',
            destination: dest,
            userInput: p.prompt,
            remember: { traceId: traceId as string, app: dest },
          };
        } else {
          return deny(bearer.reason, `${bearer.message} (to ${describe(dest)})`);
        }
      }
    }
  }

  return {
    kind: 'plan',
    direction: outbound && inbound ? 'both' : outbound ? 'outbound' : inbound ? 'inbound' : 'none',
    classification: cls,
    traceId,
    traceparent,
    outbound,
    inbound,
    internalHeaders: internalHeaders(req, config.internalHeaderPrefixes),
  };
}

export interface IssueUserToken {
  readonly kind: 'issue_user_token';
  /** Whose credentials obtain the T1 (the client at the start of the trace). */
  readonly app: Endpoint;
  readonly userInput: string;
}

/**
 * Called when the trace lookup for `plan.outbound.subject` found no token. A
 * `client` is at the first request of a trace: a T1 for the prompt in the
 * body (read with the destination's promptFieldJsonPath, which describes the
 * body the destination receives, else the client's own). Anyone else: the
 * request was not delegated to it — `no_delegation`.
 */
export function whenNoSubjectToken(
  p: Plan,
  req: HttpRequestAttributes,
  config: PolicyConfig,
): IssueUserToken | Deny {
  const out = p.outbound;
  if (out === undefined || (out.kind !== 'exchange' && out.kind !== 'llm')) {
    return deny('internal_error', 'no outbound step needs a subject token');
  }
  if (out.source.type === 'client' && out.kind === 'exchange') {
    const path = out.target.destination.app.promptFieldJsonPath ?? out.source.app.promptFieldJsonPath;
    if (!path) {
      return deny(
        'missing_prompt',
        `neither ${describe(out.target.destination)} nor ${describe(out.source)} declares promptFieldJsonPath`,
      );
    }
    const prompt = readPrompt(req, path, config.jsonPaths);
    if (!prompt.ok) return prompt.deny;
    return { kind: 'issue_user_token', app: out.source, userInput: prompt.prompt };
  }
  return deny('no_delegation', `no token arrived at ${describe(out.source)} in trace ${out.subject.traceId}`);
}

export interface StepResults {
  /** The token the outbound exchange produced (required for an `exchange` step). */
  readonly outboundToken?: string;
}

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The final Allow and its header mutations:
 * - outbound exchange: `authorization: Bearer <T>` (overwrite) — the token the
 *   inbound step of the same Check verified, if there is one;
 * - otherwise an enforced inbound request loses `authorization` (apps never see
 *   tokens), and a `strip` step removes the app's own;
 * - LLM egress: `x-litellm-call-id` (CASA's LLM call correlation);
 * - a minted `traceparent`; CASA-internal headers are removed.
 */
export function allow(p: Plan, results: StepResults = {}): Decision {
  const set: HeaderToSet[] = [];
  const remove: string[] = [...p.internalHeaders];
  const out = p.outbound;
  if (out?.kind === 'exchange') {
    const t = results.outboundToken;
    if (t === undefined || t === '') return deny('internal_error', 'exchange step finished without a token');
    if (!B64TOKEN.test(t))
      return deny('runtime_bad_response', 'the runtime returned a token that is not a bearer token');
    set.push({ key: 'authorization', value: `Bearer ${t}`, overwrite: true });
  } else if (out?.kind === 'llm') {
    set.push({ key: 'x-litellm-call-id', value: out.callId, overwrite: true });
  }
  if (out?.kind === 'strip' || (p.inbound !== undefined && out?.kind !== 'exchange'))
    remove.push('authorization');
  if (p.traceparent !== undefined) set.push({ key: 'traceparent', value: p.traceparent, overwrite: true });
  const decision: Allow = { kind: 'allow', headersToSet: set, headersToRemove: remove };
  return decision;
}

/** `{"error": reason, "message": …}` — the body every deny carries. */
export function denyBody(d: Deny): string {
  return JSON.stringify({ error: d.reason, message: d.message });
}

function mcpServerUrl(dest: Endpoint, req: HttpRequestAttributes): string {
  const base = dest.app.baseUrl;
  const scheme = base?.scheme ?? (req.scheme === 'https' ? 'https' : 'http');
  const host = base?.host ?? req.host;
  return `${scheme}://${host}/mcp`;
}

function internalHeaders(req: HttpRequestAttributes, prefixes: readonly string[]): readonly string[] {
  if (prefixes.length === 0) return NONE;
  let out: string[] | undefined;
  for (const name of req.headers.keys()) {
    for (const p of prefixes) {
      if (name.startsWith(p)) {
        if (out === undefined) out = [];
        out.push(name);
        break;
      }
    }
  }
  return out ?? NONE;
}

function describe(e: Endpoint): string {
  return `${e.type} ${e.mas.namespace}/${e.app.name}`;
}
