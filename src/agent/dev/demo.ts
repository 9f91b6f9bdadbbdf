// The demo: real SDK traffic through the dev data plane and the agent, told
// in numbered steps a newcomer can follow — the T1 issued for the user's
// prompt, the exchange for a T3 naming the tool, the injected header (a
// fingerprint, never the token), the MCP server's inbound check; then a tool
// outside the token, a request that is not MCP, and the runtime going away
// (cached decisions keep working for 30 s, then everything fails closed).
// Returns what happened as data; the tests assert on it, the CLI prints it.
import type { Answer } from './apps/web-client.js';
import type { ExchangeEvent } from './dataplane/dev-dataplane.js';
import type { InjectedHeader } from './dataplane/token-fingerprint.js';
import type { DecisionView, DevWorld } from './dev-world.js';
import { APP_HOST, TOOLS } from './example-mas.js';
import type { RuntimeEndpoint } from './runtime/index.js';

export const PROMPTS = {
  book: 'Find a flight from Zurich to Lisbon on 2026-05-01 and book the cheapest',
  cancel: 'Cancel booking BK-1',
  search: 'Find a flight from Zurich to Lisbon on 2026-05-01',
} as const;

/** The introspection cache lifetime (ARCHITECTURE.md §3) plus one second. */
export const CACHE_EXPIRY_WAIT_MS = 31_000;

export interface DemoOptions {
  /** true (default): move the dev clock forward 31 s; false: really wait 31 s. */
  readonly fastForward?: boolean;
  /** Each printed line, as soon as it is known. */
  readonly write?: (line: string) => void;
}

/** One request through the data plane and the Check behind it. */
export interface Hop {
  readonly event: ExchangeEvent;
  readonly decision?: DecisionView;
}

export interface DemoStep {
  readonly n: number;
  readonly title: string;
  readonly hops: readonly Hop[];
  /** Requests that reached the runtime during the step, per endpoint (non-zero only). */
  readonly runtimeCalls: Readonly<Partial<Record<RuntimeEndpoint, number>>>;
  readonly answer?: Answer;
  /** Whether the step showed what it set out to show. */
  readonly ok: boolean;
  readonly lines: readonly string[];
}

const ENDPOINTS: readonly RuntimeEndpoint[] = [
  'token',
  'token_exchange',
  'introspect',
  'store_token',
  'load_token',
];

export async function runDemo(world: DevWorld, opts: DemoOptions = {}): Promise<DemoStep[]> {
  const write = opts.write ?? (() => undefined);
  const fastForward = opts.fastForward ?? true;
  const steps: DemoStep[] = [];
  const emit = (s: DemoStep) => {
    steps.push(s);
    for (const l of s.lines) write(l);
    write('');
  };
  write('CASA demo: web (client) → planner (agent) → flights (MCP server), through the');
  write('development data plane (not the production data plane) and the real agent.');
  write('');

  const conversation = world.conversation();
  try {
    // 1–3: one prompt, the whole chain.
    let mark = snapshot(world);
    const first = await conversation.send(PROMPTS.book);
    let hops = since(world, mark);
    const firstCalls = callsSince(world, mark);
    const entry = hops.find((h) => h.event.source === 'web' && h.decision?.a2aMethod);
    emit(stepOne(entry, firstCalls, first));
    const toolHops = hops.filter((h) => h.decision?.mcpMethod === 'tools/call');
    emit(stepTwo(toolHops));
    emit(stepThree(toolHops, first));

    // 4: a tool the runtime never puts in a token.
    mark = snapshot(world);
    const cancel = await conversation.send(PROMPTS.cancel);
    hops = since(world, mark);
    emit(stepFour(hops, callsSince(world, mark), cancel));

    // 5: not MCP at all, from the agent's pod to the MCP server.
    mark = snapshot(world);
    const planner = world.plannerFetch();
    let status = 0;
    try {
      const res = await planner.fetch(`http://${APP_HOST.flights}/admin/bookings`);
      status = res.status;
      await res.text();
    } finally {
      await planner.close();
    }
    emit(stepFive(since(world, mark), callsSince(world, mark), status));

    // 6: the runtime goes away; the same trace keeps working from the caches.
    await world.runtime.stop();
    mark = snapshot(world);
    const cached = await conversation.send(PROMPTS.search);
    emit(stepSix(since(world, mark), callsSince(world, mark), cached));

    // 7: past the 30 s introspection lifetime, with the runtime still down.
    if (fastForward) world.clock.advance(CACHE_EXPIRY_WAIT_MS);
    else await new Promise((r) => setTimeout(r, CACHE_EXPIRY_WAIT_MS));
    mark = snapshot(world);
    const late = await conversation.send(PROMPTS.search);
    emit(stepSeven(since(world, mark), callsSince(world, mark), late, fastForward));
  } finally {
    await conversation.close();
    if (!world.runtime.running) await world.runtime.start();
  }
  const failed = steps.filter((s) => !s.ok).map((s) => s.n);
  write(
    failed.length === 0
      ? `Every step behaved as CASA specifies. The runtime is running again; the decisions are at ${world.urls.diag}/debug/decisions`
      : `Steps that did not behave as expected: ${failed.join(', ')}`,
  );
  return steps;
}

interface Mark {
  readonly exchanges: number;
  readonly calls: ReadonlyMap<RuntimeEndpoint, number>;
  readonly lastStream?: string;
}

function snapshot(world: DevWorld): Mark {
  return {
    exchanges: world.exchanges.length,
    calls: new Map(ENDPOINTS.map((e) => [e, world.runtime.calls(e)])),
    lastStream: world.exchanges.at(-1)?.streamId,
  };
}

/** Requests since `mark`, in the order their Checks were sent. */
function since(world: DevWorld, mark: Mark): Hop[] {
  const all = world.exchanges;
  let from = mark.exchanges;
  // The exchange list is bounded: find the mark again by stream id if it shifted.
  if (mark.lastStream !== undefined && all[from - 1]?.streamId !== mark.lastStream) {
    const i = all.findIndex((e) => e.streamId === mark.lastStream);
    from = i < 0 ? 0 : i + 1;
  }
  return all
    .slice(from)
    .sort((a, b) => Number(BigInt(a.streamId) - BigInt(b.streamId)))
    .map((event) => ({ event, decision: world.decisionFor(event.streamId) }));
}

function callsSince(world: DevWorld, mark: Mark): Partial<Record<RuntimeEndpoint, number>> {
  const out: Partial<Record<RuntimeEndpoint, number>> = {};
  for (const e of ENDPOINTS) {
    const d = world.runtime.calls(e) - (mark.calls.get(e) ?? 0);
    if (d > 0) out[e] = d;
  }
  return out;
}

function total(calls: Partial<Record<RuntimeEndpoint, number>>): number {
  return Object.values(calls).reduce((a, b) => a + (b ?? 0), 0);
}

function callsText(calls: Partial<Record<RuntimeEndpoint, number>>): string {
  const parts = Object.entries(calls).map(([k, v]) => `${k} ×${v}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** One line per request: who → whom, what, and the answer. */
export function hopLine(h: Hop): string {
  const e = h.event;
  const d = h.decision;
  const what = d?.tool
    ? `MCP ${d.mcpMethod} ${d.tool}`
    : d?.mcpMethod
      ? `MCP ${d.mcpMethod}`
      : d?.a2aMethod
        ? `A2A ${d.a2aMethod}`
        : d?.protocol === 'a2a'
          ? 'A2A agent card'
          : (d?.protocol ?? 'plain HTTP');
  const verdict =
    e.outcome === 'allowed'
      ? `${e.status} allowed`
      : e.outcome === 'denied'
        ? `${e.status} denied: ${e.reason ?? 'no reason'}`
        : `${e.status} ${e.outcome}`;
  const cache = d?.cache ? `  [${d.cache}]` : '';
  return `   ${e.source} → ${e.destination}  ${e.method} ${e.path}  ${what}  → ${verdict}${cache}`;
}

/** The injected token, as a reader may see it: name, fingerprint, scope, tools, actors. */
export function injectedLine(i: InjectedHeader): string {
  if (!i.token) return `   injected ${i.name}${i.value !== undefined ? `: ${i.value}` : ''}`;
  const t = i.token;
  const facts = [
    t.scope !== undefined ? `scope "${t.scope}"` : undefined,
    t.tools ? `tools [${t.tools.join(', ')}]` : 'no tools',
    t.actors ? `act ${t.actors.join(' ← ')}` : undefined,
  ].filter((x) => x !== undefined);
  return `   injected ${i.name}: Bearer ‹${t.fingerprint}›  (${facts.join(', ')})`;
}

function stepOne(
  entry: Hop | undefined,
  calls: Partial<Record<RuntimeEndpoint, number>>,
  answer: Answer,
): DemoStep {
  const d = entry?.decision;
  const ok =
    entry?.event.outcome === 'allowed' &&
    d?.decision === 'allow' &&
    (d.cache ?? '').startsWith('trace:miss') &&
    (calls.token ?? 0) === 1;
  const lines = [
    "1. The user's prompt enters at the client: the agent issues a T1.",
    `   web sends "${PROMPTS.book}" to planner with the A2A SDK.`,
    ...(entry ? [hopLine(entry)] : ['   (no request from web reached the data plane)']),
    "   No token in this trace yet for web: the agent asked the runtime for a T1 with web's",
    '   credentials and the prompt, exchanged it for a token to planner, checked that token',
    "   as planner's inbound side, and injected it:",
    ...(entry?.event.injected ?? []).map(injectedLine),
    `   runtime calls for the whole prompt: ${callsText(calls)}`,
  ];
  return {
    n: 1,
    title: 'T1 issued for the prompt',
    hops: entry ? [entry] : [],
    runtimeCalls: calls,
    answer,
    ok,
    lines,
  };
}

function stepTwo(toolHops: readonly Hop[]): DemoStep {
  const search = toolHops.find((h) => h.decision?.tool === TOOLS.search);
  const t3 = search?.event.injected.find((i) => i.name === 'authorization')?.token;
  const ok =
    search?.event.outcome === 'allowed' &&
    t3?.tools?.length === 1 &&
    t3.tools[0] === TOOLS.search &&
    (t3.scope ?? '').split(' ').includes('call-tools');
  const lines = [
    "2. planner calls a tool: the agent exchanges the trace's token for a T3 naming that tool.",
    "   planner's own Authorization (none) is replaced; the T3 is injected on the way out:",
    ...(search ? [hopLine(search), ...search.event.injected.map(injectedLine)] : ['   (no tools/call seen)']),
  ];
  return {
    n: 2,
    title: 'exchange for a T3 with the tool',
    hops: search ? [search] : [],
    runtimeCalls: {},
    ok,
    lines,
  };
}

function stepThree(toolHops: readonly Hop[], answer: Answer): DemoStep {
  const ok =
    toolHops.length === 2 &&
    toolHops.every((h) => h.event.outcome === 'allowed' && h.decision?.direction === 'both') &&
    answer.state === 'completed';
  const lines = [
    "3. The MCP server's inbound check passes: the T3 is active, has scope call-tools and the tool.",
    ...toolHops.map(hopLine),
    `   planner's answer (${answer.state}): ${firstLine(answer.text)}`,
  ];
  return {
    n: 3,
    title: 'MCP server inbound check passes',
    hops: toolHops,
    runtimeCalls: {},
    answer,
    ok,
    lines,
  };
}

function stepFour(
  hops: readonly Hop[],
  calls: Partial<Record<RuntimeEndpoint, number>>,
  answer: Answer,
): DemoStep {
  const cancel = hops.find((h) => h.decision?.tool === TOOLS.cancel);
  const ok = cancel?.event.outcome === 'denied' && cancel.event.status === 403;
  const lines = [
    `4. A tool outside the token is denied: "${PROMPTS.cancel}" makes planner call ${TOOLS.cancel}.`,
    `   This runtime approves only the tools the user's intent needs; the token it returns for`,
    `   ${TOOLS.cancel} names no tools, so the MCP server's inbound check refuses it (the runtime's`,
    '   introspection answers inactive for a tool the token does not carry).',
    ...(cancel ? [hopLine(cancel), ...cancel.event.injected.map(injectedLine)] : ['   (no call seen)']),
    `   runtime calls: ${callsText(calls)}`,
    `   planner's answer (${answer.state}): ${firstLine(answer.text)}`,
  ];
  return {
    n: 4,
    title: 'tool outside the token denied',
    hops: cancel ? [cancel] : [],
    runtimeCalls: calls,
    answer,
    ok,
    lines,
  };
}

function stepFive(
  hops: readonly Hop[],
  calls: Partial<Record<RuntimeEndpoint, number>>,
  status: number,
): DemoStep {
  const h = hops[0];
  const ok =
    hops.length === 1 &&
    status === 403 &&
    h?.event.reason === 'protocol_violation' &&
    h.decision?.runtimeCalls === 0 &&
    total(calls) === 0;
  const lines = [
    '5. A request that is not MCP is denied before the runtime is consulted.',
    `   planner's pod sends GET http://${APP_HOST.flights}/admin/bookings (an MCP server accepts only MCP):`,
    ...hops.map(hopLine),
    `   runtime calls: ${callsText(calls)}`,
  ];
  return {
    n: 5,
    title: 'non-MCP request denied without a runtime call',
    hops,
    runtimeCalls: calls,
    ok,
    lines,
  };
}

function stepSix(
  hops: readonly Hop[],
  calls: Partial<Record<RuntimeEndpoint, number>>,
  answer: Answer,
): DemoStep {
  const checked = hops.filter((h) => h.decision?.cache?.includes('introspection'));
  const ok =
    answer.state === 'completed' &&
    hops.length > 0 &&
    hops.every((h) => h.event.outcome === 'allowed') &&
    checked.length > 0 &&
    checked.every((h) => h.decision?.cache?.includes('introspection:hit')) &&
    total(calls) === 0;
  const lines = [
    '6. The runtime is stopped. The same conversation goes on: every decision is served from the',
    "   agent's caches (introspection results live 30 s; exchanged tokens until shortly before exp).",
    `   web sends "${PROMPTS.search}":`,
    ...hops.map(hopLine),
    `   runtime calls: ${callsText(calls)} (it is down)`,
    `   planner's answer (${answer.state}): ${firstLine(answer.text)}`,
  ];
  return { n: 6, title: 'runtime stopped: served from cache', hops, runtimeCalls: calls, answer, ok, lines };
}

function stepSeven(
  hops: readonly Hop[],
  calls: Partial<Record<RuntimeEndpoint, number>>,
  answer: Answer,
  fastForward: boolean,
): DemoStep {
  const denied = hops.find((h) => h.event.outcome === 'denied');
  const ok =
    answer.state === 'error' &&
    denied?.event.status === 403 &&
    denied.event.reason === 'runtime_unavailable' &&
    hops.every((h) => h.event.outcome !== 'allowed' || h.decision?.protocol === 'a2a');
  const lines = [
    fastForward
      ? '7. 31 s later (the dev clock was moved forward 31 s; run with --demo-wait to really wait),'
      : '7. 31 s later (really waited),',
    '   the cached introspection has expired and the runtime is still down: fail closed.',
    ...hops.map(hopLine),
    `   runtime calls: ${callsText(calls)} (it is down)`,
    `   web's SDK client got: ${firstLine(answer.text)}`,
  ];
  return { n: 7, title: 'runtime stopped: denied after 30 s', hops, runtimeCalls: calls, answer, ok, lines };
}

function firstLine(s: string): string {
  const l = s.split('\n')[0] ?? '';
  return l.length > 140 ? `${l.slice(0, 137)}...` : l;
}
