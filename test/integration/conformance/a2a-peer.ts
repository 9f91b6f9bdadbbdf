// A real A2A agent built with the official @a2a-js/sdk 1.3: an express app
// with DefaultRequestHandler + InMemoryTaskStore + a tiny AgentExecutor,
// exposing the well-known agent card, the JSON-RPC binding and the HTTP+JSON
// (REST) binding — each with `legacyCompat` on, so v0.3 clients are served
// on the same URLs — plus push notifications to a local webhook.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AgentCard, type Message, type Part, type Task, TaskState } from '@a2a-js/sdk';
import { createLegacyAwarePushNotificationSender } from '@a2a-js/sdk/compat/v0_3/server';
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryPushNotificationStore,
  InMemoryTaskStore,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, restHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import express from 'express';

/** Where the bindings are mounted, and the `protocols` setting that tells the policy. */
export interface A2aLayout {
  readonly name: string;
  readonly jsonRpcPath: string;
  /** '' mounts the REST binding at the root. */
  readonly restBase: string;
  /** The policy's `protocols` config key for this layout (undefined: the defaults). */
  readonly protocols?: unknown;
}

/** A message with this text starts a task that stays WORKING until it is cancelled. */
export const HOLD = 'hold';

export function textPart(text: string): Part {
  return {
    content: { $case: 'text', value: text },
    metadata: undefined,
    filename: '',
    mediaType: 'text/plain',
  };
}

function status(state: TaskState): Task['status'] {
  return { state, message: undefined, timestamp: new Date().toISOString() };
}

function textOf(m: Message): string {
  return m.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
}

/** Echoes the user's text as an artifact and completes; `hold` waits for cancelTask. */
class EchoExecutor implements AgentExecutor {
  readonly #held = new Map<string, () => void>();

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
    const text = textOf(ctx.userMessage);
    if (text === HOLD) {
      await new Promise<void>((resolve) => this.#held.set(taskId, resolve));
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId,
          status: status(TaskState.TASK_STATE_CANCELED),
          metadata: {},
        }),
      );
      return;
    }
    bus.publish(
      AgentEvent.artifactUpdate({
        taskId,
        contextId,
        artifact: {
          artifactId: randomUUID(),
          name: 'echo',
          description: '',
          parts: [textPart(text)],
          metadata: {},
          extensions: [],
        },
        append: false,
        lastChunk: true,
        metadata: {},
      }),
    );
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: status(TaskState.TASK_STATE_COMPLETED),
        metadata: {},
      }),
    );
  };

  cancelTask = async (taskId: string): Promise<void> => {
    this.#held.get(taskId)?.();
    this.#held.delete(taskId);
  };

  releaseAll(): void {
    for (const release of this.#held.values()) release();
    this.#held.clear();
  }
}

function agentCard(publicBase: string, layout: A2aLayout): AgentCard {
  return {
    name: 'conformance-agent',
    description: 'Echoes what it is sent',
    version: '1.0.0',
    provider: undefined,
    // The same endpoints for both generations: legacyCompat serves v0.3 on them, and the
    // v0.3-shaped card (answered to clients without `A2A-Version: 1.0`) lists the 0.3 entries.
    supportedInterfaces: (['1.0', '0.3'] as const).flatMap((protocolVersion) => [
      { url: `${publicBase}${layout.jsonRpcPath}`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion },
      { url: `${publicBase}${layout.restBase}`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion },
    ]),
    capabilities: { streaming: true, pushNotifications: true, extensions: [], extendedAgentCard: true },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: 'echo',
        name: 'Echo',
        description: 'Echoes the text it is sent',
        tags: ['echo'],
        examples: ['hello'],
        inputModes: ['text/plain'],
        outputModes: ['text/plain'],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
}

export interface A2aPeer {
  /** Where the agent listens (the recording proxy forwards here). */
  readonly url: string;
  /** A local receiver for push notifications. */
  readonly webhookUrl: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function shut(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/** Starts the agent; its card advertises `publicBase` (the recording proxy) as its address. */
export async function startA2aPeer(layout: A2aLayout, publicBase: string): Promise<A2aPeer> {
  const webhook = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const webhookUrl = `${await listen(webhook)}/a2a-webhook`;

  const executor = new EchoExecutor();
  const card = agentCard(publicBase, layout);
  const pushStore = new InMemoryPushNotificationStore();
  const handler = new DefaultRequestHandler(
    card,
    new InMemoryTaskStore(),
    executor,
    undefined,
    pushStore,
    createLegacyAwarePushNotificationSender(pushStore, { timeout: 2_000 }),
    card,
  );
  const legacyCompat = { enabled: true };
  const app = express();
  const cards = agentCardHandler({ agentCardProvider: handler, legacyCompat });
  app.use('/.well-known/agent-card.json', cards);
  // The v0.2 location of the card: the SDK does not serve it by itself; agents that still do serve the same card.
  app.use('/.well-known/agent.json', cards);
  app.use(
    layout.jsonRpcPath,
    jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, legacyCompat }),
  );
  app.use(
    layout.restBase === '' ? '/' : layout.restBase,
    restHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, legacyCompat }),
  );
  const server = createServer(app);
  const url = await listen(server);
  return {
    url,
    webhookUrl,
    async close() {
      executor.releaseAll();
      await shut(server);
      await shut(webhook);
    },
  };
}
