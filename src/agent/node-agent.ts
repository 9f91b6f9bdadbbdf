// The composition root of one node agent: inventory → registry, runtime
// client → token caches, authorization flow → ext_authz server, registry →
// xDS snapshot → xDS server, and the diagnostics endpoint over all of them.
// `casa-agent run` and `casa-agent dev` both start exactly this.
import { readFileSync } from 'node:fs';
import { EnvoyCodec } from '../envoy-xds/codec.js';
import type { XdsObserver } from '../envoy-xds/discovery.js';
import { XdsServer } from '../envoy-xds/server.js';
import { SnapshotStore } from '../envoy-xds/snapshot-store.js';
import { createPolicyConfig, type PolicyConfig } from '../policy/index.js';
import { type ApplyOff, ClusterApply, clusterApplyFromConfig } from './apply/index.js';
import { FlowAuthorizer } from './authz/authorizer.js';
import type { Authorizer, CheckOutcome } from './authz/authorizer-port.js';
import { AuthzServer } from './authz/authz-server.js';
import type { CheckInput } from './authz/check-request.js';
import { type AgentConfig, formatHostPort, type HostPort } from './config/load.js';
import { DecisionLog, type DecisionRecord } from './diag/decision-log.js';
import { type AgentMetrics, createMetrics } from './diag/metrics.js';
import { DiagnosticsServer, type Readiness } from './diag/server.js';
import type { AgentState } from './diag/state.js';
import { createInventory, type Inventory, inventoryState, loadKubeConfig } from './inventory/index.js';
import { IstioAdapter } from './istio/adapter.js';
import { chooseDataplane, type DataplaneChoice, kubeDiscovery } from './istio/dataplane.js';
import { IstioAuthzPorts, type IstioListening } from './istio/ports.js';
import { componentLogger, type Logger } from './log.js';
import { packageRoot } from './paths.js';
import { EXTENSION_CONFIG_TYPE_URL, ROUTE_TYPE_URL, servedResources } from './render/served-resources.js';
import { createTelemetry, type SpanPrinter, type Telemetry } from './telemetry/index.js';
import {
  type CacheStats,
  type ObservableRuntimeClient,
  runtimeClientFromConfig,
  type TokenCaches,
  tokenCachesFromConfig,
} from './tokens/index.js';

/** The one snapshot key: this agent serves only its own node's Envoy. */
export const NODE_SNAPSHOT = 'local';

export interface NodeAgentDeps {
  readonly config: AgentConfig;
  readonly log: Logger;
  /** Replace the clock (tests). */
  readonly now?: () => number;
  /** Extra observer of every answered Check (dev console, telemetry). */
  readonly onCheck?: (input: CheckInput | undefined, outcome: CheckOutcome, elapsedMs: number) => void;
  /** Prints decision spans (`casa-agent dev --print-spans`: `consoleSpanPrinter(process.stdout)`). */
  readonly spanPrinter?: SpanPrinter;
}

/** How long a stopping agent waits for the collector to take the last spans. */
const TELEMETRY_FLUSH_MS = 2_000;

export interface Listening {
  /** The ext_authz port (Istio: the inbound one). */
  readonly authz: HostPort;
  /** xDS for cilium-envoy; not served to Istio sidecars (istiod configures them). */
  readonly xds?: HostPort;
  readonly diag: HostPort;
  /** Istio data plane: the SIDECAR_INBOUND and SIDECAR_OUTBOUND ext_authz ports. */
  readonly istio?: IstioListening;
}

export class NodeAgent {
  readonly metrics: AgentMetrics;
  readonly decisions: DecisionLog;
  readonly inventory: Inventory;
  readonly runtime: ObservableRuntimeClient;
  readonly caches: TokenCaches;
  readonly authorizer: Authorizer;
  readonly authz: AuthzServer;
  readonly xds: XdsServer;
  readonly snapshots: SnapshotStore;
  /** Serves the same authorization flow to Istio sidecars (dataplane istio). */
  readonly istio: IstioAdapter;
  /** Decision spans over OTLP (and/or to a console); undefined when off. */
  readonly telemetry?: Telemetry;
  private istioPorts?: IstioAuthzPorts;
  private dataplane: DataplaneChoice;
  /** The single writer of the cluster-wide Cilium objects (applyClusterObjects). */
  private clusterApply?: ClusterApply | ApplyOff;
  private readonly diag: DiagnosticsServer;
  private readonly log: Logger;
  private readonly startedAt = new Date();
  private policy: PolicyConfig;
  private runtimeOkAt?: Date;
  private runtimeError?: string;
  private listening?: Listening;
  private unsubscribe?: () => void;
  private probe?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly deps: NodeAgentDeps) {
    const { config } = deps;
    this.log = deps.log;
    this.metrics = createMetrics();
    this.decisions = new DecisionLog(config.decisionLog);
    this.policy = createPolicyConfig({
      protocols: config.protocols,
      requireTraceContext: config.requireTraceContext,
    });
    const m = this.metrics;
    this.runtime = runtimeClientFromConfig(config, {
      observe: (op, outcome, ms) => {
        m.runtimeCalls.inc({ op, outcome });
        m.runtimeCallDuration.observe({ op }, ms / 1000);
        if (outcome === 'ok') {
          this.runtimeOkAt = new Date();
          this.runtimeError = undefined;
        } else if (outcome === 'unavailable' || outcome === 'timeout' || outcome === 'bad_response') {
          this.runtimeError = `${op}: ${outcome}`;
        }
      },
      ...(deps.now ? { now: deps.now } : {}),
    });
    this.caches = tokenCachesFromConfig(config, this.runtime, deps.now);
    this.inventory = createInventory({
      source: config.inventory,
      manifests: config.manifests,
      kubeconfig: config.kubeconfig,
      nodeName: config.nodeName,
      log: componentLogger(this.log, 'inventory'),
      onWatchRestart: (kind, cause) => m.inventoryWatchRestarts.inc({ kind, cause }),
    });
    this.istio = new IstioAdapter(this.inventory.registry);
    this.dataplane =
      config.dataplane === 'auto'
        ? { mode: 'cilium', why: 'dataplane=auto: not chosen yet (the agent has not started)' }
        : { mode: config.dataplane, why: `dataplane=${config.dataplane} (configured)` };
    this.telemetry = createTelemetry({
      endpoint: config.otlpEndpoint,
      tracesUrl: config.otlpTracesUrl === true,
      protocol: config.otlpProtocol,
      ...(deps.spanPrinter ? { printer: deps.spanPrinter } : {}),
      serviceVersion: version(),
      nodeName: config.nodeName,
      podName: config.podName,
      log: componentLogger(this.log, 'telemetry'),
      onDrop: (n, reason) => m.spansDropped.inc({ reason }, n),
    });
    this.authorizer = new FlowAuthorizer({
      directory: this.inventory.registry,
      // Istio ports hand over their sidecar-side resolution; anything else is resolved as Cilium's.
      resolve: this.istio.resolve,
      policy: () => this.policy,
      runtime: this.runtime,
      introspection: this.caches.introspection,
      exchanges: this.caches.exchange,
      traces: this.caches.traces,
      ...(deps.now ? { now: deps.now } : {}),
      onRemember: (o) => {
        if (o === 'shared_failed') m.sharedCacheFailures.inc({ op: 'store' });
      },
      ...(this.telemetry ? { telemetry: this.telemetry.tracer } : {}),
    });
    this.authz = new AuthzServer({
      authorizer: this.authorizer,
      defaultTimeoutMs: config.checkTimeout,
      onOutcome: (input, outcome, ms, at) => this.observeCheck(input, outcome, ms, at),
    });
    this.snapshots = new SnapshotStore({
      codec: new EnvoyCodec(),
      onListenerError: (err) => this.log.error({ component: 'xds', err }, 'snapshot listener failed'),
    });
    this.xds = new XdsServer({
      store: this.snapshots,
      nodeKey: () => NODE_SNAPSHOT,
      observer: this.xdsObserver(),
      controlPlaneId: `casa-node-agent/${config.nodeName ?? 'dev'}`,
    });
    this.diag = new DiagnosticsServer({
      metrics: this.metrics,
      decisions: this.decisions,
      readiness: () => this.readiness(),
      live: () => !this.stopped,
      state: () => this.state(),
    });
  }

  /** Starts every listener and the inventory; resolves once listening (readiness may follow). */
  async start(): Promise<Listening> {
    const { config } = this.deps;
    // First, so that `auto` with no usable data plane fails before any port opens.
    this.dataplane = await chooseDataplane({
      configured: config.dataplane,
      inventory: config.inventory,
      manifests: config.manifests,
      discovery: () => kubeDiscovery(loadKubeConfig(config.kubeconfig)),
    });
    this.log.info(
      { component: 'agent', dataplane: this.dataplane.mode, why: this.dataplane.why },
      `data plane: ${this.dataplane.mode}`,
    );
    this.clusterApply = clusterApplyFromConfig({
      config,
      dataplane: this.dataplane.mode,
      registry: this.inventory.registry,
      synced: () => this.inventory.source.synced,
      metrics: this.metrics.registry,
      log: componentLogger(this.log, 'apply'),
    });
    const diag = await this.diag.listen(config.diagListen);
    if (this.dataplane.mode === 'istio') {
      this.istioPorts = new IstioAuthzPorts({
        adapter: this.istio,
        authorizer: this.authorizer,
        inbound: config.istioInboundListen,
        outbound: config.istioOutboundListen,
        defaultTimeoutMs: config.checkTimeout,
        onOutcome: (input, outcome, ms, at) => this.observeCheck(input, outcome, ms, at),
      });
      const istio = await this.istioPorts.listen();
      this.listening = { authz: istio.inbound, diag, istio };
    } else {
      const xds = await this.xds.listen(config.xdsListen);
      const authz = await this.authz.listen(config.authzListen);
      this.listening = { authz, xds, diag };
    }
    const { authz, xds, istio } = this.listening;
    this.unsubscribe = this.inventory.registry.onChange(() => this.publishSnapshot());
    await this.inventory.source.start();
    if (this.clusterApply instanceof ClusterApply) this.clusterApply.start();
    this.publishSnapshot();
    this.probeRuntime();
    this.log.info(
      {
        component: 'agent',
        dataplane: this.dataplane.mode,
        authz: formatHostPort(authz),
        ...(xds ? { xds: formatHostPort(xds) } : {}),
        ...(istio ? { istioOutbound: formatHostPort(istio.outbound) } : {}),
        diag: formatHostPort(diag),
        inventory: config.inventory,
        runtime: config.runtimeUrl,
        profile: config.runtimeProfile,
        telemetry: this.telemetry?.target ?? 'off',
      },
      'casa-agent started',
    );
    return this.listening;
  }

  /** SIGTERM: stop taking Checks, let in-flight ones finish, then close everything. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.probe);
    this.unsubscribe?.();
    await Promise.all([
      this.authz.shutdown(this.deps.config.drainTimeout),
      this.istioPorts?.shutdown(this.deps.config.drainTimeout),
    ]);
    await Promise.allSettled([
      this.xds.close(),
      this.inventory.source.stop(),
      this.clusterApply instanceof ClusterApply ? this.clusterApply.stop() : undefined,
    ]);
    this.inventory.registry.close();
    await this.runtime.close();
    await this.telemetry?.shutdown(TELEMETRY_FLUSH_MS);
    await this.diag.close();
    this.log.info({ component: 'agent' }, 'casa-agent stopped');
  }

  readiness(): Readiness {
    const waitingFor: string[] = [];
    if (!this.listening) waitingFor.push('listeners not started');
    if (!this.inventory.source.synced) waitingFor.push('inventory not synced');
    if (!this.runtimeOkAt) waitingFor.push('runtime not reached yet');
    if (this.stopped) waitingFor.push('shutting down');
    return { ready: waitingFor.length === 0, waitingFor };
  }

  state(): AgentState {
    const c = this.caches;
    const stat = (s: CacheStats) => ({ entries: s.entries, bytes: s.bytes, hits: s.hits, misses: s.misses });
    return {
      node: this.deps.config.nodeName,
      version: version(),
      startedAt: this.startedAt.toISOString(),
      dataplane: this.dataplane,
      listen: this.listening ? listenState(this.listening) : {},
      inventory: inventoryState(this.inventory),
      runtime: {
        url: this.deps.config.runtimeUrl,
        profile: this.deps.config.runtimeProfile,
        reachable: this.runtimeError === undefined && this.runtimeOkAt !== undefined,
        ...(this.runtimeOkAt ? { lastOkAt: this.runtimeOkAt.toISOString() } : {}),
        ...(this.runtimeError ? { lastError: this.runtimeError } : {}),
      },
      caches: {
        introspection: stat(c.introspection.stats),
        exchange: stat(c.exchange.stats),
        traces: stat(c.traces.stats),
      },
      xds: {
        clients: this.xds
          .clients()
          .map((x) => ({ node: x.node, stream: x.stream, kind: x.kind, types: x.types })),
      },
      authz: { checksInFlight: this.authz.checksInFlight + (this.istioPorts?.checksInFlight ?? 0) },
      ...(this.clusterApply
        ? {
            apply: this.clusterApply instanceof ClusterApply ? this.clusterApply.state() : this.clusterApply,
          }
        : {}),
    };
  }

  /** Rebuilds the node snapshot (RDS + ECDS) from the registry; a bad build keeps the last good one. */
  private publishSnapshot(): void {
    const reg = this.inventory.registry;
    try {
      const served = servedResources({
        workloads: reg.localWorkloads(),
        multiAgentSystems: reg.multiAgentSystems(),
        services: reg.services(),
      });
      this.snapshots.setSnapshot(NODE_SNAPSHOT, {
        [ROUTE_TYPE_URL]: served.routes,
        [EXTENSION_CONFIG_TYPE_URL]: served.extensionConfigs,
      });
    } catch (err) {
      this.log.error({ component: 'xds', err }, 'could not build the xDS snapshot; the last one stays');
    }
    const stats = reg.stats();
    this.metrics.inventoryWorkloads.set({ scope: 'local' }, stats.localWorkloads);
    this.metrics.inventoryWorkloads.set({ scope: 'cluster' }, stats.clusterWorkloads);
    for (const [kind, n] of Object.entries(stats.objects)) this.metrics.inventoryObjects.set({ kind }, n);
    this.metrics.inventorySynced.set(this.inventory.source.synced ? 1 : 0);
  }

  /** Readiness needs the runtime reached once: probe with backoff until it answers. */
  private probeRuntime(delayMs = 250): void {
    if (this.stopped || this.runtimeOkAt) return;
    this.runtime.ping().then(
      () => {
        this.runtimeOkAt = new Date();
        this.runtimeError = undefined;
      },
      (err: unknown) => {
        this.runtimeError = `ping: ${(err as Error).message}`;
        if (this.stopped) return;
        this.probe = setTimeout(() => this.probeRuntime(Math.min(delayMs * 2, 10_000)), delayMs);
        this.probe.unref();
      },
    );
  }

  private observeCheck(
    input: CheckInput | undefined,
    o: CheckOutcome,
    elapsedMs: number,
    answeredAt: number,
  ): void {
    const d = o.decision;
    const m = this.metrics;
    m.checks.inc({ direction: o.direction, decision: d.kind, reason: d.kind === 'deny' ? d.reason : 'ok' });
    m.checkDuration.observe({ decision: d.kind }, elapsedMs / 1000);
    const rec: DecisionRecord = {
      at: new Date().toISOString(),
      traceId: o.traceId,
      requestId: input?.requestId,
      direction: o.direction,
      decision: d.kind,
      ...(d.kind === 'deny' ? { reason: d.reason, message: d.message, status: d.status } : {}),
      protocol: o.protocol,
      method: input?.method ?? '',
      // Never the query: it may carry credentials.
      path: input ? (input.path.split(/[?#]/, 1)[0] ?? '') : '',
      host: input?.host ?? '',
      mcpMethod: o.mcpMethod,
      tool: o.tool,
      a2aMethod: o.a2aMethod,
      source: o.source,
      destination: o.destination,
      runtimeCalls: o.runtimeCalls,
      cache: o.cache,
      latencyMs: Math.round(elapsedMs * 1000) / 1000,
    };
    this.decisions.add(rec);
    // The answer is sent: the span is built now, off the Check's path.
    const span = this.telemetry?.tracer.record(input, o, elapsedMs, answeredAt);
    const line = { component: 'authz', ...rec, traceId: o.traceId ?? span?.traceId, spanId: span?.spanId };
    if (d.kind === 'deny') this.log.info(line, 'deny');
    else this.log.debug(line, 'allow');
    this.deps.onCheck?.(input, o, elapsedMs);
  }

  private xdsObserver(): XdsObserver {
    const m = this.metrics;
    const log = componentLogger(this.log, 'xds');
    return {
      onStreamOpen: (s) => m.xdsStreams.inc({ kind: s.kind }),
      onStreamClose: (s) => m.xdsStreams.dec({ kind: s.kind }),
      onResponse: (e) => m.xdsResponses.inc({ type_url: e.typeUrl }),
      onAck: (e) => m.xdsAcks.inc({ type_url: e.typeUrl }),
      onNack: (e) => {
        m.xdsNacks.inc({ type_url: e.typeUrl });
        log.warn(
          {
            node: e.nodeId,
            typeUrl: e.typeUrl,
            version: e.version,
            lastAcked: e.lastAcked,
            error: e.errorMessage,
          },
          'xDS NACK: version parked, the last ACKed one stays',
        );
      },
    };
  }
}

function listenState(l: Listening): Record<string, string> {
  return {
    authz: formatHostPort(l.authz),
    ...(l.xds ? { xds: formatHostPort(l.xds) } : {}),
    ...(l.istio
      ? { istioInbound: formatHostPort(l.istio.inbound), istioOutbound: formatHostPort(l.istio.outbound) }
      : {}),
    diag: formatHostPort(l.diag),
  };
}

let cachedVersion: string | undefined;
function version(): string {
  cachedVersion ??= (JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string })
    .version;
  return cachedVersion;
}
