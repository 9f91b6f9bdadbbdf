// Everything `casa-agent dev` runs, on loopback: the reference runtime with
// the example MAS registered, the real NodeAgent on a file inventory of that
// MAS, the development data plane in front of the example apps, and the apps
// themselves. One object to start and stop; the demo and the tests drive it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckOutcome } from '../authz/authorizer-port.js';
import type { CheckInput } from '../authz/check-request.js';
import type { AgentConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { NodeAgent, type NodeAgentDeps } from '../node-agent.js';
import { CONTEXT_LISTENER, CONTEXT_SERVICE } from '../render/envoy-routes.js';
import { serviceClusterName } from '../render/names.js';
import { egressFetch } from './apps/egress-fetch.js';
import { type FlightsMcp, startFlightsMcp } from './apps/flights-mcp.js';
import { type PlannerAgent, startPlanner } from './apps/planner-agent.js';
import { Conversation } from './apps/web-client.js';
import {
  DevDataPlane,
  type DevDataPlaneListening,
  type ExchangeEvent,
  type ListenerSpec,
} from './dataplane/dev-dataplane.js';
import {
  APP_HOST,
  APPROVED_TOOLS,
  DEMO_MAS_SPEC,
  DEMO_NODE,
  DEMO_NS,
  demoManifests,
  POD_IP,
} from './example-mas.js';
import { ReferenceRuntime } from './runtime/index.js';

/** The dev clock: wall time plus an offset the demo may move forward (never a sleep). */
export class DevClock {
  private offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  get offset(): number {
    return this.offsetMs;
  }
}

/** Port offsets from --port-base (0: every port chosen by the OS). */
export const PORT_OFFSETS = {
  runtime: 0,
  authz: 1,
  xds: 2,
  diag: 3,
  webEgress: 4,
  plannerEgress: 5,
  plannerIngress: 6,
  planner: 7,
  flights: 8,
} as const;

export interface DevWorldOptions {
  /** Settings from the command line (logLevel, checkTimeout, maxRequestBytes, caches…). */
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly portBase: number;
  readonly clock?: DevClock;
  /** Observers: each data-plane request, each answered Check. */
  readonly onExchange?: (e: ExchangeEvent) => void;
  readonly onCheck?: NodeAgentDeps['onCheck'];
  /** How many data-plane requests and their decisions are kept (default 2048, oldest dropped). */
  readonly remember?: number;
  /** `--print-spans`: each decision span (runtime calls as children) printed as it ends. */
  readonly spanPrinter?: NodeAgentDeps['spanPrinter'];
}

/** A Check's outcome without anything secret (no header values): what the demo reports. */
export interface DecisionView {
  readonly decision: 'allow' | 'deny';
  readonly reason?: string;
  readonly direction: CheckOutcome['direction'];
  readonly runtimeCalls: number;
  readonly cache?: string;
  readonly protocol?: string;
  readonly mcpMethod?: string;
  readonly tool?: string;
  readonly a2aMethod?: string;
}

const REMEMBERED = 2048;

export class DevWorld {
  readonly clock: DevClock;
  /** Every data-plane request, oldest first (bounded). */
  readonly exchanges: ExchangeEvent[];
  private readonly decisions: Map<string, DecisionView>;
  readonly runtime: ReferenceRuntime;
  readonly agent: NodeAgent;
  readonly dataplane: DevDataPlane;
  readonly planner: PlannerAgent;
  readonly flights: FlightsMcp;
  readonly urls: DevUrls;
  private readonly dir: string;
  private stopped = false;

  private constructor(parts: {
    runtime: ReferenceRuntime;
    agent: NodeAgent;
    dataplane: DevDataPlane;
    planner: PlannerAgent;
    flights: FlightsMcp;
    urls: DevUrls;
    dir: string;
    clock: DevClock;
    exchanges: ExchangeEvent[];
    decisions: Map<string, DecisionView>;
  }) {
    this.runtime = parts.runtime;
    this.agent = parts.agent;
    this.dataplane = parts.dataplane;
    this.planner = parts.planner;
    this.flights = parts.flights;
    this.urls = parts.urls;
    this.dir = parts.dir;
    this.clock = parts.clock;
    this.exchanges = parts.exchanges;
    this.decisions = parts.decisions;
  }

  static async start(opts: DevWorldOptions): Promise<DevWorld> {
    const clock = opts.clock ?? new DevClock();
    const port = (k: keyof typeof PORT_OFFSETS) => (opts.portBase > 0 ? opts.portBase + PORT_OFFSETS[k] : 0);
    const host = '127.0.0.1';
    const started: { close(): Promise<void> | void }[] = [];
    try {
      const runtime = await ReferenceRuntime.start({
        host,
        port: port('runtime'),
        now: clock.now,
        // The demo's intent check: only the tools the example prompts need are ever approved.
        policy: () => ({ approvedTools: APPROVED_TOOLS }),
      });
      started.push(runtime);
      // App ids equal app names, so each Secret is `<name>-oauth2-credentials`.
      const apps = runtime.registerMas(DEMO_MAS_SPEC, {
        appIds: Object.fromEntries(DEMO_MAS_SPEC.apps.map((a) => [a.name, a.name])),
      });
      const dir = mkdtempSync(join(tmpdir(), 'casa-dev-'));
      started.push({ close: () => rmSync(dir, { recursive: true, force: true }) });
      writeFileSync(join(dir, 'demo.yaml'), demoManifests(apps));

      const config: AgentConfig = {
        ...opts.config,
        nodeName: DEMO_NODE,
        inventory: 'file',
        manifests: dir,
        dataplane: 'cilium',
        runtimeUrl: runtime.url,
        runtimeProfile: 'casa',
        authzListen: { host, port: port('authz') },
        xdsListen: { host, port: port('xds') },
        diagListen: { host, port: port('diag') },
      };
      const keep = Math.max(1, opts.remember ?? REMEMBERED);
      const decisions = new Map<string, DecisionView>();
      const agent = new NodeAgent({
        config,
        log: opts.log,
        now: clock.now,
        ...(opts.spanPrinter ? { spanPrinter: opts.spanPrinter } : {}),
        onCheck: (input: CheckInput | undefined, o: CheckOutcome, ms: number) => {
          if (input?.requestId) {
            remember(decisions, input.requestId, view(o), keep);
          }
          opts.onCheck?.(input, o, ms);
        },
      });
      const listening = await agent.start();
      started.push({ close: () => agent.stop() });

      // The planner learns its egress port once the data plane listens (ports may be chosen by the OS).
      let plannerEgress = '';
      const planner = await startPlanner({ egressUrl: () => plannerEgress, port: port('planner'), host });
      started.push(planner);
      const flights = await startFlightsMcp(port('flights'), host);
      started.push(flights);

      const exchanges: ExchangeEvent[] = [];
      const listeners: ListenerSpec[] = [
        { kind: 'egress', name: 'web-egress', port: port('webEgress'), app: 'web', podIp: POD_IP.web },
        {
          kind: 'egress',
          name: 'planner-egress',
          port: port('plannerEgress'),
          app: 'planner',
          podIp: POD_IP.planner,
        },
        { kind: 'ingress', name: 'planner-ingress', port: port('plannerIngress'), app: 'planner' },
      ];
      const dataplane = new DevDataPlane({
        authzTarget: `${host}:${listening.authz.port}`,
        timeoutMs: config.checkTimeout,
        // What the rendered ext_authz filter sends (render/envoy-resources.ts).
        withRequestBody: {
          maxRequestBytes: config.maxRequestBytes,
          allowPartialMessage: true,
          packAsBytes: true,
        },
        routes: [
          {
            app: 'planner',
            authority: APP_HOST.planner,
            podIp: POD_IP.planner,
            podPort: portOf(APP_HOST.planner),
            upstream: { host, port: planner.port },
          },
          {
            app: 'flights',
            authority: APP_HOST.flights,
            podIp: POD_IP.flights,
            podPort: portOf(APP_HOST.flights),
            upstream: { host, port: flights.port },
          },
        ],
        listeners,
        host,
        contextExtensions: (l): Record<string, string> =>
          l.kind === 'egress'
            ? { [CONTEXT_LISTENER]: 'egress' }
            : {
                [CONTEXT_LISTENER]: 'l7lb',
                [CONTEXT_SERVICE]: serviceClusterName(DEMO_NS, l.app, portOf(APP_HOST.planner)),
              },
        onExchange: (e) => {
          exchanges.push(e);
          if (exchanges.length > keep) exchanges.shift();
          opts.onExchange?.(e);
        },
      });
      started.push(dataplane);
      const dp = await dataplane.start();
      const byName = (n: string) => dp.find((l) => l.name === n) as DevDataPlaneListening;
      const urls: DevUrls = {
        runtime: runtime.url,
        authz: `${host}:${listening.authz.port}`,
        xds: listening.xds ? `${host}:${listening.xds.port}` : '',
        diag: `http://${host}:${listening.diag.port}`,
        webEgress: `http://${host}:${byName('web-egress').port}`,
        plannerEgress: `http://${host}:${byName('planner-egress').port}`,
        plannerIngress: `http://${host}:${byName('planner-ingress').port}`,
        planner: `http://${host}:${planner.port}`,
        flights: `http://${host}:${flights.port}/mcp`,
      };
      plannerEgress = urls.plannerEgress;
      return new DevWorld({
        runtime,
        agent,
        dataplane,
        planner,
        flights,
        urls,
        dir,
        clock,
        exchanges,
        decisions,
      });
    } catch (err) {
      for (const s of started.reverse()) await Promise.resolve(s.close()).catch(() => undefined);
      throw err;
    }
  }

  /** The Check decision behind a data-plane request (matched by the CheckRequest's stream id). */
  decisionFor(streamId: string): DecisionView | undefined {
    return this.decisions.get(streamId);
  }

  /** A new conversation of the `web` client (one trace). */
  conversation(): Conversation {
    return new Conversation(this.urls.webEgress);
  }

  /** A fetch that sends as the planner's pod would (through its egress listener). */
  plannerFetch(): ReturnType<typeof egressFetch> {
    return egressFetch(this.urls.plannerEgress);
  }

  /** Resolves once the agent is ready (inventory synced, runtime reached). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = this.agent.readiness();
      if (r.ready) return;
      if (Date.now() > until) throw new Error(`agent not ready: ${r.waitingFor.join(', ')}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.dataplane.close();
    await Promise.allSettled([this.planner.close(), this.flights.close()]);
    await this.agent.stop();
    await this.runtime.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface DevUrls {
  readonly runtime: string;
  readonly authz: string;
  readonly xds: string;
  readonly diag: string;
  readonly webEgress: string;
  readonly plannerEgress: string;
  readonly plannerIngress: string;
  readonly planner: string;
  readonly flights: string;
}

function view(o: CheckOutcome): DecisionView {
  const d = o.decision;
  return {
    decision: d.kind,
    ...(d.kind === 'deny' ? { reason: d.reason } : {}),
    direction: o.direction,
    runtimeCalls: o.runtimeCalls,
    cache: o.cache,
    protocol: o.protocol,
    mcpMethod: o.mcpMethod,
    tool: o.tool,
    a2aMethod: o.a2aMethod,
  };
}

function remember(m: Map<string, DecisionView>, id: string, v: DecisionView, keep: number): void {
  m.set(id, v);
  if (m.size > keep) {
    const oldest = m.keys().next();
    if (!oldest.done) m.delete(oldest.value);
  }
}

function portOf(authority: string): number {
  const m = /:(\d+)$/.exec(authority);
  return m ? Number(m[1]) : 80;
}
