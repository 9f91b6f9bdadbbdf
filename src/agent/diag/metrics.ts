// Every Prometheus metric the agent exports, in one place, on a Registry the
// agent owns (no prom-client global state).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface AgentMetrics {
  readonly registry: Registry;
  readonly checks: Counter<'direction' | 'decision' | 'reason'>;
  readonly checkDuration: Histogram<'decision'>;
  readonly checksInFlight: Gauge;
  readonly runtimeCalls: Counter<'op' | 'outcome'>;
  readonly runtimeCallDuration: Histogram<'op'>;
  readonly cacheLookups: Counter<'cache' | 'result'>;
  readonly cacheEntries: Gauge<'cache'>;
  readonly cacheBytes: Gauge<'cache'>;
  readonly sharedCacheFailures: Counter<'op'>;
  readonly xdsStreams: Gauge<'kind'>;
  readonly xdsResponses: Counter<'type_url'>;
  readonly xdsAcks: Counter<'type_url'>;
  readonly xdsNacks: Counter<'type_url'>;
  readonly inventoryObjects: Gauge<'kind'>;
  readonly inventoryWorkloads: Gauge<'scope'>;
  readonly inventorySynced: Gauge;
  readonly inventoryWatchRestarts: Counter<'kind' | 'cause'>;
  readonly spansDropped: Counter<'reason'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): AgentMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'casa_agent_' });
  const r = [registry];
  return {
    registry,
    checks: new Counter({
      name: 'casa_authz_checks_total',
      help: 'ext_authz Checks answered, by direction (inbound|outbound|both|none), decision and reason code',
      labelNames: ['direction', 'decision', 'reason'],
      registers: r,
    }),
    checkDuration: new Histogram({
      name: 'casa_authz_check_duration_seconds',
      help: 'Time to answer an ext_authz Check',
      labelNames: ['decision'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
    checksInFlight: new Gauge({
      name: 'casa_authz_checks_in_flight',
      help: 'Checks being answered',
      registers: r,
    }),
    runtimeCalls: new Counter({
      name: 'casa_runtime_calls_total',
      help: 'Calls to the CASA runtime by operation and outcome (ok or a RuntimeError kind)',
      labelNames: ['op', 'outcome'],
      registers: r,
    }),
    runtimeCallDuration: new Histogram({
      name: 'casa_runtime_call_duration_seconds',
      help: 'Latency of runtime calls',
      labelNames: ['op'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    cacheLookups: new Counter({
      name: 'casa_cache_lookups_total',
      help: 'Token cache lookups by cache and result (hit, miss, shared)',
      labelNames: ['cache', 'result'],
      registers: r,
    }),
    cacheEntries: new Gauge({
      name: 'casa_cache_entries',
      help: 'Entries per token cache',
      labelNames: ['cache'],
      registers: r,
    }),
    cacheBytes: new Gauge({
      name: 'casa_cache_bytes',
      help: 'Accounted bytes per token cache',
      labelNames: ['cache'],
      registers: r,
    }),
    sharedCacheFailures: new Counter({
      name: 'casa_shared_trace_cache_failures_total',
      help: 'Failures to store or load a trace token in the runtime shared cache',
      labelNames: ['op'],
      registers: r,
    }),
    xdsStreams: new Gauge({
      name: 'casa_xds_streams',
      help: 'Open xDS streams',
      labelNames: ['kind'],
      registers: r,
    }),
    xdsResponses: new Counter({
      name: 'casa_xds_responses_total',
      help: 'xDS responses sent',
      labelNames: ['type_url'],
      registers: r,
    }),
    xdsAcks: new Counter({
      name: 'casa_xds_acks_total',
      help: 'xDS ACKs received',
      labelNames: ['type_url'],
      registers: r,
    }),
    xdsNacks: new Counter({
      name: 'casa_xds_nacks_total',
      help: 'xDS NACKs received',
      labelNames: ['type_url'],
      registers: r,
    }),
    inventoryObjects: new Gauge({
      name: 'casa_inventory_objects',
      help: 'Objects held by kind',
      labelNames: ['kind'],
      registers: r,
    }),
    inventoryWorkloads: new Gauge({
      name: 'casa_inventory_workloads',
      help: 'Managed workloads known (local = pods on this node, cluster = destinations)',
      labelNames: ['scope'],
      registers: r,
    }),
    inventorySynced: new Gauge({
      name: 'casa_inventory_synced',
      help: '1 once every initial list completed',
      registers: r,
    }),
    inventoryWatchRestarts: new Counter({
      name: 'casa_inventory_watch_restarts_total',
      help: 'Watch restarts by kind and cause (error, gone, closed)',
      labelNames: ['kind', 'cause'],
      registers: r,
    }),
    spansDropped: new Counter({
      name: 'casa_otel_spans_dropped_total',
      help: 'Decision spans dropped, by reason (queue_full, export_failed, shutdown)',
      labelNames: ['reason'],
      registers: r,
    }),
  };
}
