// The node diagnostics endpoint (ARCHITECTURE.md §6): /healthz, /readyz,
// /metrics, /debug/state, /debug/decisions. Read-only, GET/HEAD only, and
// nothing it serves may contain a token value.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../config/load.js';
import type { DecisionLog } from './decision-log.js';
import type { AgentMetrics } from './metrics.js';

export interface Readiness {
  readonly ready: boolean;
  /** One line per unmet condition, e.g. "inventory not synced". */
  readonly waitingFor: readonly string[];
}

export interface DiagnosticsSources {
  readonly metrics: AgentMetrics;
  readonly decisions: DecisionLog;
  readiness(): Readiness;
  /** Liveness: false only when the agent cannot recover by itself. */
  live(): boolean;
  state(): unknown;
}

export class DiagnosticsServer {
  private server?: Server;

  constructor(private readonly sources: DiagnosticsSources) {}

  async listen(at: HostPort): Promise<HostPort> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, 'text/plain', `internal error: ${(err as Error).message}\n`);
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 5000;
    server.headersTimeout = 10_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain', 'method not allowed\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://diag');
    switch (url.pathname) {
      case '/healthz': {
        const live = this.sources.live();
        send(res, live ? 200 : 503, 'text/plain', live ? 'ok\n' : 'unhealthy\n');
        return;
      }
      case '/readyz': {
        const r = this.sources.readiness();
        if (url.searchParams.has('verbose') || !r.ready) {
          sendJson(res, r.ready ? 200 : 503, r);
        } else {
          send(res, 200, 'text/plain', 'ok\n');
        }
        return;
      }
      case '/metrics': {
        const reg = this.sources.metrics.registry;
        send(res, 200, reg.contentType, await reg.metrics());
        return;
      }
      case '/debug/state':
        sendJson(res, 200, this.sources.state());
        return;
      case '/debug/decisions': {
        const limit = clampInt(url.searchParams.get('limit'), 100, 1, 100_000);
        const decision = url.searchParams.get('decision');
        const reason = url.searchParams.get('reason');
        let recs = this.sources.decisions.recent();
        if (decision) recs = recs.filter((r) => r.decision === decision);
        if (reason) recs = recs.filter((r) => r.reason === reason);
        sendJson(res, 200, { capacity: this.sources.decisions.capacity, decisions: recs.slice(0, limit) });
        return;
      }
      case '/':
        sendJson(res, 200, {
          endpoints: ['/healthz', '/readyz', '/metrics', '/debug/state', '/debug/decisions'],
        });
        return;
      default:
        send(res, 404, 'text/plain', 'not found\n');
    }
  }
}

function clampInt(v: string | null, dflt: number, min: number, max: number): number {
  if (v === null || !/^\d+$/.test(v)) return dflt;
  return Math.min(max, Math.max(min, Number(v)));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', `${JSON.stringify(body, null, 2)}\n`);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}
