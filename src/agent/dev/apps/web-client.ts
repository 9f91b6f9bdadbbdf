// The example client app `web`: the official @a2a-js/sdk client sending a
// user's prompt to the planner by its MAS address (`planner.demo:8000`),
// through web's egress listener. A conversation is one W3C trace, as an
// OpenTelemetry-instrumented app would send it: the same trace id on every
// request, a fresh span id each time.
import { randomBytes, randomUUID } from 'node:crypto';
import { Role, type Task, TaskState } from '@a2a-js/sdk';
import {
  type Client,
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { APP_HOST } from '../example-mas.js';
import { egressFetch } from './egress-fetch.js';
import { textOf, textPart } from './planner-agent.js';

export interface Answer {
  /** The task's final state name (`completed`, `failed`), or `error` when the request itself failed. */
  readonly state: string;
  readonly text: string;
}

export class Conversation {
  readonly traceId = randomBytes(16).toString('hex');
  private client?: Client;
  private readonly egress;

  constructor(egressUrl: string) {
    this.egress = egressFetch(egressUrl, () => ({
      traceparent: `00-${this.traceId}-${randomBytes(8).toString('hex')}-01`,
    }));
  }

  /** Sends one prompt (SendMessage) and waits for the task to finish. */
  async send(prompt: string): Promise<Answer> {
    try {
      this.client ??= await new ClientFactory(
        ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
          transports: [new JsonRpcTransportFactory({ fetchImpl: this.egress.fetch })],
          cardResolver: new DefaultAgentCardResolver({ fetchImpl: this.egress.fetch }),
          preferredTransports: ['JSONRPC'],
        }),
      ).createFromUrl(`http://${APP_HOST.planner}`);
      const r = await this.client.sendMessage({
        tenant: '',
        metadata: {},
        configuration: undefined,
        message: {
          messageId: randomUUID(),
          contextId: '',
          taskId: '',
          role: Role.ROLE_USER,
          parts: [textPart(prompt)],
          metadata: {},
          extensions: [],
          referenceTaskIds: [],
        },
      });
      if (r && typeof r === 'object' && 'status' in r && 'artifacts' in r) {
        const task = r as Task;
        const text = task.artifacts
          .map((a) => a.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join(''))
          .join('\n');
        return { state: stateName(task.status?.state), text };
      }
      return { state: 'message', text: textOf(r as never) };
    } catch (err) {
      return { state: 'error', text: (err as Error).message };
    }
  }

  close(): Promise<void> {
    return this.egress.close();
  }
}

function stateName(s: TaskState | undefined): string {
  switch (s) {
    case TaskState.TASK_STATE_COMPLETED:
      return 'completed';
    case TaskState.TASK_STATE_FAILED:
      return 'failed';
    case TaskState.TASK_STATE_CANCELED:
      return 'canceled';
    default:
      return `state ${String(s)}`;
  }
}
