// Real MCP servers built with the official @modelcontextprotocol/sdk, one per
// HTTP transport the SDK ships: Streamable HTTP with sessions, Streamable HTTP
// stateless, and the 2024-11-05 HTTP+SSE transport (GET /sse + POST
// /messages). Each serves the same McpServer: two tools (one of them asks the
// client to sample, so the client POSTs a JSON-RPC response), a resource and a
// prompt. And the SDK Client that drives a normal session against them.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CreateMessageRequestSchema, CreateMessageResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { RecordedRequest, RecordingProxy } from '../../support/sdk-recorder.js';

export type McpTransportKind = 'streamable-stateful' | 'streamable-stateless' | 'http+sse';

export const TOOL_ADD = 'add';
export const TOOL_ASK = 'ask_llm';
export const RESOURCE_URI = 'file:///docs/readme.md';
export const PROMPT_NAME = 'greet';

function buildServer(): McpServer {
  const server = new McpServer(
    { name: 'conformance-mcp', version: '1.0.0' },
    { capabilities: { logging: {} } },
  );
  server.registerTool(
    TOOL_ADD,
    { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );
  server.registerTool(
    TOOL_ASK,
    { description: 'Asks the client’s LLM (sampling)', inputSchema: { question: z.string() } },
    async ({ question }, extra) => {
      const answer = await extra.sendRequest(
        {
          method: 'sampling/createMessage',
          params: { messages: [{ role: 'user', content: { type: 'text', text: question } }], maxTokens: 16 },
        },
        CreateMessageResultSchema,
      );
      const text = answer.content.type === 'text' ? answer.content.text : '';
      return { content: [{ type: 'text', text }] };
    },
  );
  server.registerResource(
    'readme',
    RESOURCE_URI,
    { description: 'The readme', mimeType: 'text/markdown' },
    async (uri) => ({ contents: [{ uri: uri.href, text: '# Readme\n' }] }),
  );
  server.registerPrompt(
    PROMPT_NAME,
    { description: 'Greets someone', argsSchema: { name: z.string() } },
    ({ name }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${name}` } }] }),
  );
  return server;
}

export interface McpPeer {
  readonly kind: McpTransportKind;
  /** Base URL of the HTTP server (no path). */
  readonly url: string;
  close(): Promise<void>;
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
}

/** Starts the server for one transport on 127.0.0.1, port 0. */
export async function startMcpPeer(kind: McpTransportKind): Promise<McpPeer> {
  const closers = new Set<() => Promise<void>>();
  let handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;

  if (kind === 'streamable-stateful') {
    const sessions = new Map<string, StreamableHTTPServerTransport>();
    handler = async (req, res) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/mcp') return notFound(res);
      const sid = req.headers['mcp-session-id'];
      let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (transport === undefined) {
        // A new session starts with a POST initialize; the transport rejects anything else.
        const t = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            sessions.set(id, t);
          },
        });
        const server = buildServer();
        const close = async () => {
          await server.close();
        };
        t.onclose = () => {
          if (t.sessionId) sessions.delete(t.sessionId);
          closers.delete(close);
        };
        closers.add(close);
        await server.connect(t);
        transport = t;
      }
      await transport.handleRequest(req, res);
    };
  } else if (kind === 'streamable-stateless') {
    handler = async (req, res) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/mcp') return notFound(res);
      // Stateless: a fresh server and transport per request (the SDK's documented pattern).
      const t = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      const server = buildServer();
      const close = async () => {
        await server.close();
      };
      closers.add(close);
      res.on('close', () => {
        closers.delete(close);
        void server.close();
      });
      await server.connect(t);
      await t.handleRequest(req, res);
    };
  } else {
    const sessions = new Map<string, SSEServerTransport>();
    handler = async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname === '/sse') {
        const t = new SSEServerTransport('/messages', res);
        const server = buildServer();
        const close = async () => {
          await server.close();
        };
        sessions.set(t.sessionId, t);
        closers.add(close);
        res.on('close', () => {
          sessions.delete(t.sessionId);
          closers.delete(close);
        });
        await server.connect(t);
        return;
      }
      if (req.method === 'POST' && url.pathname === '/messages') {
        const t = sessions.get(url.searchParams.get('sessionId') ?? '');
        if (t === undefined) return notFound(res);
        await t.handlePostMessage(req, res);
        return;
      }
      notFound(res);
    };
  }

  const http: Server = createServer((req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    kind,
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    async close() {
      await Promise.allSettled([...closers].map((c) => c()));
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    },
  };
}

/** A step of the client session and the JSON-RPC methods (POST bodies) it is expected to send. */
export interface SessionStep {
  readonly name: string;
  run(client: Client): Promise<unknown>;
}

/**
 * A normal session: everything a host application does with a server that
 * offers tools, resources and prompts. `sampling` is false for the stateless
 * transport, where a server cannot send the client a request that the
 * client's answer could reach again.
 */
export function sessionSteps(sampling: boolean): SessionStep[] {
  const steps: SessionStep[] = [
    { name: 'tools/list', run: (c) => c.listTools() },
    { name: 'tools/call', run: (c) => c.callTool({ name: TOOL_ADD, arguments: { a: 2, b: 3 } }) },
    { name: 'resources/list', run: (c) => c.listResources() },
    { name: 'resources/templates/list', run: (c) => c.listResourceTemplates() },
    { name: 'resources/read', run: (c) => c.readResource({ uri: RESOURCE_URI }) },
    { name: 'prompts/list', run: (c) => c.listPrompts() },
    { name: 'prompts/get', run: (c) => c.getPrompt({ name: PROMPT_NAME, arguments: { name: 'Ada' } }) },
    { name: 'logging/setLevel', run: (c) => c.setLoggingLevel('info') },
    { name: 'ping', run: (c) => c.ping() },
  ];
  if (sampling) {
    steps.splice(2, 0, {
      name: 'tools/call+sampling',
      run: (c) => c.callTool({ name: TOOL_ASK, arguments: { question: 'six times seven?' } }),
    });
  }
  return steps;
}

/** An SDK client that answers sampling requests, as a host with an LLM would. */
export function newClient(): Client {
  const client = new Client(
    { name: 'conformance-host', version: '1.0.0' },
    { capabilities: { sampling: {} } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    model: 'test-model',
    role: 'assistant',
    content: { type: 'text', text: '42' },
  }));
  return client;
}

export type ClientTransport = StreamableHTTPClientTransport | SSEClientTransport;

/** The SDK client transport for `kind`, pointed at `base` (the recording proxy), with its defaults. */
export function clientTransport(kind: McpTransportKind, base: string): ClientTransport {
  if (kind === 'http+sse') return new SSEClientTransport(new URL('/sse', base));
  return new StreamableHTTPClientTransport(new URL('/mcp', base));
}

export interface McpSession {
  readonly recorded: readonly RecordedRequest[];
  /** The protocol version the SDK negotiated (Streamable HTTP only). */
  readonly protocolVersion: string | undefined;
}

/** Drives one normal session through the recording proxy and returns what the client sent. */
export async function runSession(kind: McpTransportKind, proxy: RecordingProxy): Promise<McpSession> {
  const client = newClient();
  const transport = clientTransport(kind, proxy.url);
  proxy.step('initialize');
  await client.connect(transport);
  for (const step of sessionSteps(kind !== 'streamable-stateless')) {
    proxy.step(step.name);
    await step.run(client);
  }
  proxy.step('close');
  const protocolVersion =
    transport instanceof StreamableHTTPClientTransport ? transport.protocolVersion : undefined;
  // Streamable HTTP ends a session with DELETE (2025-03-26 §Session Management).
  if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession();
  await client.close();
  return { recorded: [...proxy.requests], protocolVersion };
}
