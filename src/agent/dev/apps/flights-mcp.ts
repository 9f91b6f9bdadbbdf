// The example MCP server `flights`, built on the official
// @modelcontextprotocol/sdk over Streamable HTTP (sessions): three tools on an
// in-memory timetable. It never sees a token decision — the agent and the data
// plane in front of it make those.
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { TOOLS } from '../example-mas.js';

interface Flight {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly date: string;
  readonly priceEur: number;
}

function timetable(from: string, to: string, date: string): Flight[] {
  const base = (from.length * 31 + to.length * 17) % 90;
  return [0, 1, 2].map((i) => ({
    id: `${from.slice(0, 3).toUpperCase()}${to.slice(0, 3).toUpperCase()}-${101 + i * 110}`,
    from,
    to,
    date,
    priceEur: 89 + base + i * 45,
  }));
}

const TOOL_LIST = [
  {
    name: TOOLS.search,
    description: 'Lists flights between two cities on a date',
    inputSchema: stringArgs(['from', 'to', 'date']),
  },
  { name: TOOLS.book, description: 'Books a flight by id', inputSchema: stringArgs(['flightId']) },
  { name: TOOLS.cancel, description: 'Deletes a booking', inputSchema: stringArgs(['bookingId']) },
];

function stringArgs(names: readonly string[]) {
  return {
    type: 'object' as const,
    properties: Object.fromEntries(names.map((n) => [n, { type: 'string' }])),
    required: [...names],
  };
}

function text(value: unknown, isError = false) {
  return {
    content: [{ type: 'text' as const, text: JSON.stringify(value) }],
    ...(isError ? { isError } : {}),
  };
}

/** The SDK's low-level Server with JSON Schema tool inputs (no schema library needed). */
function buildServer(bookings: Map<string, string>): Server {
  const server = new Server({ name: 'flights', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOL_LIST }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const args = (req.params.arguments ?? {}) as Record<string, unknown>;
    const arg = (k: string) => (typeof args[k] === 'string' ? (args[k] as string) : '');
    switch (req.params.name) {
      case TOOLS.search:
        return text(timetable(arg('from'), arg('to'), arg('date')));
      case TOOLS.book: {
        const ref = `BK-${bookings.size + 1}`;
        bookings.set(ref, arg('flightId'));
        return text({ booking: ref, flightId: arg('flightId') });
      }
      case TOOLS.cancel:
        return text({ deleted: bookings.delete(arg('bookingId')), bookingId: arg('bookingId') });
      default:
        return text({ error: `unknown tool ${req.params.name}` }, true);
    }
  });
  return server;
}

export interface FlightsMcp {
  readonly port: number;
  /** Bookings made so far (booking ref → flight id). */
  readonly bookings: ReadonlyMap<string, string>;
  close(): Promise<void>;
}

export async function startFlightsMcp(port = 0, host = '127.0.0.1'): Promise<FlightsMcp> {
  const bookings = new Map<string, string>();
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const servers = new Set<Server>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (new URL(req.url ?? '/', 'http://flights').pathname !== '/mcp') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (transport === undefined) {
      // A session starts with initialize; the transport answers anything else with an error.
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, t);
        },
      });
      const server = buildServer(bookings);
      servers.add(server);
      t.onclose = () => {
        if (t.sessionId) sessions.delete(t.sessionId);
        servers.delete(server);
      };
      await server.connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res);
  };
  const http: HttpServer = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolve());
  });
  return {
    port: (http.address() as AddressInfo).port,
    bookings,
    async close() {
      await Promise.allSettled([...servers].map((s) => s.close()));
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    },
  };
}
