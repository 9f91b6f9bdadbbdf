// The example agent `planner`, built on the official @a2a-js/sdk (v1.0
// JSON-RPC binding, agent card at both well-known locations). Its one skill
// reads the user's request and calls the `flights` MCP server's tools with
// the official MCP SDK client — through the planner's egress listener, and
// carrying the W3C trace context it was called with, so that the agent can
// find the token that arrived for this trace. No LLM: the tools are chosen by
// keywords, so the demo is deterministic.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AgentCard, type Message, type Part, type Task, TaskState } from '@a2a-js/sdk';
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import express from 'express';
import { APP_HOST, PLANNER_RPC_PATH, TOOLS } from '../example-mas.js';
import { egressFetch } from './egress-fetch.js';

export interface PlannerOptions {
  /** The planner's egress listener (its HTTP proxy); a function when it is known only later. */
  readonly egressUrl: string | (() => string);
  /** The MCP server's URL as the MAS names it. */
  readonly mcpUrl?: string;
  readonly port?: number;
  readonly host?: string;
}

export interface PlannerAgent {
  readonly port: number;
  close(): Promise<void>;
}

/** One tool call the skill made, for its answer. */
interface ToolResult {
  readonly tool: string;
  readonly ok: boolean;
  readonly text: string;
}

export function textPart(text: string): Part {
  return {
    content: { $case: 'text', value: text },
    metadata: undefined,
    filename: '',
    mediaType: 'text/plain',
  };
}

export function textOf(m: Message | undefined): string {
  return (m?.parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
}

function status(state: TaskState): Task['status'] {
  return { state, message: undefined, timestamp: new Date().toISOString() };
}

/** Which tools a request asks for, and their arguments. */
export function planTools(prompt: string): { tool: string; args: Record<string, string> }[] {
  const p = prompt.toLowerCase();
  const booking = /\bBK-\d+\b/i.exec(prompt)?.[0]?.toUpperCase() ?? 'BK-1';
  if (/\b(cancel|delete)\b/.test(p)) return [{ tool: TOOLS.cancel, args: { bookingId: booking } }];
  const route = /from\s+([a-z]+)\s+to\s+([a-z]+)/i.exec(prompt);
  const date = /\d{4}-\d{2}-\d{2}/.exec(prompt)?.[0] ?? '2026-05-01';
  const calls: { tool: string; args: Record<string, string> }[] = [
    { tool: TOOLS.search, args: { from: route?.[1] ?? 'Zurich', to: route?.[2] ?? 'Lisbon', date } },
  ];
  // The flight id is the cheapest the search returned (filled in by the skill).
  if (/\bbook\b/.test(p)) calls.push({ tool: TOOLS.book, args: {} });
  return calls;
}

class PlannerExecutor implements AgentExecutor {
  constructor(
    private readonly opts: { readonly egressUrl: () => string; readonly mcpUrl: string },
    private readonly trace: AsyncLocalStorage<string | undefined>,
  ) {}

  execute = async (ctx: RequestContext, bus: ExecutionEventBus): Promise<void> => {
    const { taskId, contextId } = ctx;
    if (!ctx.task) {
      bus.publish(
        AgentEvent.task({
          id: taskId,
          contextId,
          status: status(TaskState.TASK_STATE_SUBMITTED),
          artifacts: [],
          history: [ctx.userMessage],
          metadata: {},
        }),
      );
    }
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: status(TaskState.TASK_STATE_WORKING),
        metadata: {},
      }),
    );
    const results = await this.callTools(textOf(ctx.userMessage), this.trace.getStore());
    bus.publish(
      AgentEvent.artifactUpdate({
        taskId,
        contextId,
        artifact: {
          artifactId: randomUUID(),
          name: 'answer',
          description: 'what the planner did',
          parts: [textPart(results.map((r) => `${r.tool}: ${r.ok ? 'ok' : 'refused'} ${r.text}`).join('\n'))],
          metadata: {},
          extensions: [],
        },
        append: false,
        lastChunk: true,
        metadata: {},
      }),
    );
    const failed = results.some((r) => !r.ok);
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: status(failed ? TaskState.TASK_STATE_FAILED : TaskState.TASK_STATE_COMPLETED),
        metadata: {},
      }),
    );
  };

  cancelTask = async (): Promise<void> => {};

  /** One MCP session per task, through the egress listener, in the caller's trace. */
  private async callTools(prompt: string, traceparent: string | undefined): Promise<ToolResult[]> {
    const traceId = traceparent?.split('-')[1];
    // A child span per request, same trace: what an OpenTelemetry-instrumented app sends.
    const egress = egressFetch(
      this.opts.egressUrl(),
      (): Record<string, string> =>
        traceId ? { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } : {},
    );
    const client = new Client({ name: 'planner', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(this.opts.mcpUrl), { fetch: egress.fetch });
    const out: ToolResult[] = [];
    try {
      await client.connect(transport);
      let cheapest = '';
      for (const call of planTools(prompt)) {
        const args = call.tool === TOOLS.book ? { flightId: cheapest || 'unknown' } : call.args;
        try {
          const r = await client.callTool({ name: call.tool, arguments: args });
          const text = (r.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('');
          if (call.tool === TOOLS.search) cheapest = cheapestOf(text);
          out.push({ tool: call.tool, ok: r.isError !== true, text: summarize(call.tool, text) });
        } catch (err) {
          out.push({ tool: call.tool, ok: false, text: (err as Error).message });
        }
      }
      await transport.terminateSession().catch(() => undefined);
    } catch (err) {
      out.push({ tool: 'initialize', ok: false, text: (err as Error).message });
    } finally {
      await client.close().catch(() => undefined);
      await egress.close();
    }
    return out;
  }
}

/** A short, readable line for the answer (the raw tool output stays in the MCP response). */
function summarize(tool: string, json: string): string {
  if (tool !== TOOLS.search) return json;
  try {
    const flights = JSON.parse(json) as { id: string; priceEur: number }[];
    const c = [...flights].sort((a, b) => a.priceEur - b.priceEur)[0];
    return c ? `${flights.length} flights, cheapest ${c.id} at ${c.priceEur} EUR` : 'no flights';
  } catch {
    return json;
  }
}

function cheapestOf(json: string): string {
  try {
    const flights = JSON.parse(json) as { id: string; priceEur: number }[];
    return [...flights].sort((a, b) => a.priceEur - b.priceEur)[0]?.id ?? '';
  } catch {
    return '';
  }
}

function card(): AgentCard {
  const url = `http://${APP_HOST.planner}${PLANNER_RPC_PATH}`;
  return {
    name: 'planner',
    description: 'Plans trips with the flights MCP server',
    version: '1.0.0',
    provider: undefined,
    // Both generations on one endpoint (legacyCompat below serves v0.3 there).
    supportedInterfaces: (['1.0', '0.3'] as const).map((protocolVersion) => ({
      url,
      protocolBinding: 'JSONRPC',
      tenant: '',
      protocolVersion,
    })),
    capabilities: { streaming: false, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: 'plan-trip',
        name: 'Plan a trip',
        description: 'Searches and books flights; cancels bookings',
        tags: ['travel'],
        examples: ['Find a flight from Zurich to Lisbon on 2026-05-01 and book the cheapest'],
        inputModes: ['text/plain'],
        outputModes: ['text/plain'],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
}

export async function startPlanner(opts: PlannerOptions): Promise<PlannerAgent> {
  const trace = new AsyncLocalStorage<string | undefined>();
  const agentCard = card();
  const handler = new DefaultRequestHandler(
    agentCard,
    new InMemoryTaskStore(),
    new PlannerExecutor(
      {
        egressUrl: typeof opts.egressUrl === 'string' ? () => opts.egressUrl as string : opts.egressUrl,
        mcpUrl: opts.mcpUrl ?? `http://${APP_HOST.flights}/mcp`,
      },
      trace,
    ),
  );
  const app = express();
  // The executor runs inside the request's async context: it reads the caller's traceparent here.
  app.use((req, _res, next) => {
    const tp = req.headers.traceparent;
    trace.run(typeof tp === 'string' ? tp : undefined, next);
  });
  // legacyCompat: v0.3 clients (and a hand-written `message/send`) are served on the same URLs.
  const legacyCompat = { enabled: true };
  const cards = agentCardHandler({ agentCardProvider: handler, legacyCompat });
  app.use('/.well-known/agent-card.json', cards);
  app.use('/.well-known/agent.json', cards);
  app.use(
    PLANNER_RPC_PATH,
    jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, legacyCompat }),
  );
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
