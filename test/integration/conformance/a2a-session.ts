// A normal A2A client session with the official @a2a-js/sdk 1.3 clients: the
// v1.0 Client on its JSON-RPC and HTTP+JSON transports, and the v0.3 compat
// transports (`@a2a-js/sdk/compat/v0_3/client`) wrapped in the same Client.
// Each step is labelled on the recording proxy so the test knows which
// operation every recorded request was meant to be.
import { randomUUID } from 'node:crypto';
import { Role, type SendMessageRequest, type Task } from '@a2a-js/sdk';
import { Client, ClientFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';
import {
  LegacyJsonRpcTransport,
  LegacyRestTransport,
  parseLegacyAgentCard,
} from '@a2a-js/sdk/compat/v0_3/client';
import type { RecordingProxy } from '../../support/sdk-recorder.js';
import { type A2aLayout, type A2aPeer, HOLD, textPart } from './a2a-peer.js';

export type A2aFlavor = 'v1.0 JSON-RPC' | 'v1.0 HTTP+JSON' | 'v0.3 JSON-RPC' | 'v0.3 HTTP+JSON';
export const A2A_FLAVORS: readonly A2aFlavor[] = [
  'v1.0 JSON-RPC',
  'v1.0 HTTP+JSON',
  'v0.3 JSON-RPC',
  'v0.3 HTTP+JSON',
];

/** The A2A operation of each session step, as each protocol generation names it (A2A spec v0.3 / v1.0). */
export const STEP_OPS: Readonly<Record<string, { readonly '1.0': string; readonly '0.3': string }>> = {
  SendMessage: { '1.0': 'SendMessage', '0.3': 'message/send' },
  SendStreamingMessage: { '1.0': 'SendStreamingMessage', '0.3': 'message/stream' },
  GetTask: { '1.0': 'GetTask', '0.3': 'tasks/get' },
  ListTasks: { '1.0': 'ListTasks', '0.3': 'tasks/list' },
  'SendMessage(hold)': { '1.0': 'SendMessage', '0.3': 'message/send' },
  CreateTaskPushNotificationConfig: {
    '1.0': 'CreateTaskPushNotificationConfig',
    '0.3': 'tasks/pushNotificationConfig/set',
  },
  GetTaskPushNotificationConfig: {
    '1.0': 'GetTaskPushNotificationConfig',
    '0.3': 'tasks/pushNotificationConfig/get',
  },
  ListTaskPushNotificationConfigs: {
    '1.0': 'ListTaskPushNotificationConfigs',
    '0.3': 'tasks/pushNotificationConfig/list',
  },
  DeleteTaskPushNotificationConfig: {
    '1.0': 'DeleteTaskPushNotificationConfig',
    '0.3': 'tasks/pushNotificationConfig/delete',
  },
  SubscribeToTask: { '1.0': 'SubscribeToTask', '0.3': 'tasks/resubscribe' },
  CancelTask: { '1.0': 'CancelTask', '0.3': 'tasks/cancel' },
  GetExtendedAgentCard: { '1.0': 'GetExtendedAgentCard', '0.3': 'agent/getAuthenticatedExtendedCard' },
};

export function generation(flavor: A2aFlavor): '1.0' | '0.3' {
  return flavor.startsWith('v1.0') ? '1.0' : '0.3';
}

function request(text: string, returnImmediately = false): SendMessageRequest {
  return {
    tenant: '',
    metadata: {},
    configuration: returnImmediately
      ? {
          acceptedOutputModes: ['text/plain'],
          taskPushNotificationConfig: undefined,
          returnImmediately: true,
        }
      : undefined,
    message: {
      messageId: randomUUID(),
      contextId: '',
      taskId: '',
      role: Role.ROLE_USER,
      parts: [textPart(text)],
      metadata: {},
      extensions: [],
      referenceTaskIds: [],
    },
  };
}

function asTask(r: unknown, what: string): Task {
  if (r && typeof r === 'object' && 'status' in r && 'id' in r) return r as Task;
  throw new Error(`${what}: expected a Task, got ${JSON.stringify(r)}`);
}

/** The client for `flavor`, after fetching the agent card the way that generation does. */
async function connect(flavor: A2aFlavor, proxy: RecordingProxy, layout: A2aLayout): Promise<Client> {
  proxy.step('card');
  if (generation(flavor) === '1.0') {
    const binding = flavor.endsWith('JSON-RPC') ? 'JSONRPC' : 'HTTP+JSON';
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { preferredTransports: [binding] }),
    );
    return factory.createFromUrl(proxy.url);
  }
  // A v0.3 client fetches the card without A2A-Version (v0.3 §5.3); the server answers in the v0.3 shape.
  const res = await fetch(`${proxy.url}/.well-known/agent-card.json`);
  if (!res.ok) throw new Error(`v0.3 card: ${res.status}`);
  const card = parseLegacyAgentCard(await res.json());
  const transport = flavor.endsWith('JSON-RPC')
    ? new LegacyJsonRpcTransport({ endpoint: `${proxy.url}${layout.jsonRpcPath}` })
    : new LegacyRestTransport({ endpoint: `${proxy.url}${layout.restBase}` });
  return new Client(transport, card);
}

/**
 * Runs a whole session: card, send, stream, get, list (v1.0), a task held
 * open, its push-notification configs (set/get/list/delete), resubscribe,
 * cancel, and the extended card.
 */
export async function runA2aSession(
  flavor: A2aFlavor,
  proxy: RecordingProxy,
  peer: A2aPeer,
  layout: A2aLayout,
): Promise<void> {
  const client = await connect(flavor, proxy, layout);

  proxy.step('SendMessage');
  const done = asTask(await client.sendMessage(request('hello')), 'sendMessage');

  proxy.step('SendStreamingMessage');
  for await (const _event of client.sendMessageStream(request('hello, streaming'))) {
    // Drain: the stream ends with the task's final status.
  }

  proxy.step('GetTask');
  await client.getTask({ tenant: '', id: done.id, historyLength: 5 });

  if (generation(flavor) === '1.0') {
    // v0.3 has no ListTasks (the compat transports refuse it without a request).
    proxy.step('ListTasks');
    await client.listTasks({
      tenant: '',
      contextId: '',
      status: 0,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
  }

  proxy.step('SendMessage(hold)');
  const held = asTask(await client.sendMessage(request(HOLD, true)), 'sendMessage(hold)');

  proxy.step('CreateTaskPushNotificationConfig');
  const config = await client.createTaskPushNotificationConfig({
    tenant: '',
    id: '',
    taskId: held.id,
    url: peer.webhookUrl,
    token: 'webhook-token',
    authentication: undefined,
  });
  proxy.step('GetTaskPushNotificationConfig');
  await client.getTaskPushNotificationConfig({ tenant: '', taskId: held.id, id: config.id });
  proxy.step('ListTaskPushNotificationConfigs');
  await client.listTaskPushNotificationConfig({ tenant: '', taskId: held.id, pageSize: 10, pageToken: '' });
  proxy.step('DeleteTaskPushNotificationConfig');
  await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: held.id, id: config.id });

  proxy.step('SubscribeToTask');
  const stream = client.resubscribeTask({ tenant: '', id: held.id });
  await stream.next();
  await stream.return(undefined);

  proxy.step('CancelTask');
  await client.cancelTask({ tenant: '', id: held.id, metadata: {} });

  proxy.step('GetExtendedAgentCard');
  await client.getAgentCard();
  proxy.step('');
}
