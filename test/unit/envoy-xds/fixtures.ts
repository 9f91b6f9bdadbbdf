// Small, valid Envoy resources and a harness that drives a stream state
// machine directly (no gRPC): requests in, responses collected.
import { EnvoyCodec, type EnvoyJson } from '../../../src/envoy-xds/codec.js';
import { DeltaStream } from '../../../src/envoy-xds/delta-stream.js';
import {
  type AckEvent,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
  type NackEvent,
  TYPE_URL,
} from '../../../src/envoy-xds/discovery.js';
import { SnapshotStore } from '../../../src/envoy-xds/snapshot-store.js';
import { SotwStream } from '../../../src/envoy-xds/sotw-stream.js';
import type { StreamOptions } from '../../../src/envoy-xds/xds-stream.js';

/** One codec for all unit tests: loading Envoy's protos is the slow part. */
export const codec = new EnvoyCodec();

export const NODE = 'node-1';
export const T = TYPE_URL;

export function cluster(name: string, port = 0): EnvoyJson {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {} } },
    connect_timeout: '1s',
    ...(port ? { metadata: { filter_metadata: { t: { port } } } } : {}),
  };
}

export function listener(name: string, route = `${name}-routes`): EnvoyJson {
  return {
    name,
    api_listener: {
      api_listener: {
        '@type':
          'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        stat_prefix: name,
        rds: { config_source: { ads: {} }, route_config_name: route },
        http_filters: [
          {
            name: 'router',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
          },
        ],
      },
    },
  };
}

export function route(name: string, clusterName = 'c1'): EnvoyJson {
  return {
    name,
    virtual_hosts: [
      { name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: clusterName } }] },
    ],
  };
}

export function endpoints(name: string, port: number): EnvoyJson {
  return {
    cluster_name: name,
    endpoints: [
      {
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } },
        ],
      },
    ],
  };
}

export function extensionConfig(name: string, action: 'ALLOW' | 'DENY' = 'DENY'): EnvoyJson {
  return {
    name,
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
      rules: { action },
    },
  };
}

export interface Harness<Resp> {
  readonly store: SnapshotStore;
  readonly sent: Resp[];
  readonly acks: AckEvent[];
  readonly nacks: NackEvent[];
  /** Responses sent since the last call. */
  take(): Resp[];
  /** When false, `send` reports a full buffer. */
  accept: boolean;
}

type Extra = Partial<Omit<StreamOptions<unknown>, 'send' | 'store'>> & { store?: SnapshotStore };

function harness<Resp>(extra: Extra): { h: Harness<Resp>; options: StreamOptions<Resp> } {
  const store = extra.store ?? new SnapshotStore({ codec });
  const h: Harness<Resp> = {
    store,
    sent: [],
    acks: [],
    nacks: [],
    accept: true,
    take() {
      const out = this.sent.splice(0);
      return out;
    },
  };
  const options: StreamOptions<Resp> = {
    streamId: 's1',
    service: 'test',
    ...extra,
    store,
    observer: { onAck: (e) => h.acks.push(e), onNack: (e) => h.nacks.push(e), ...extra.observer },
    send: (r) => {
      h.sent.push(r);
      return h.accept;
    },
  };
  return { h, options };
}

export function sotwHarness(extra: Extra = {}): Harness<DiscoveryResponse> & { stream: SotwStream } {
  const { h, options } = harness<DiscoveryResponse>(extra);
  return Object.assign(h, { stream: new SotwStream(options) });
}

export function deltaHarness(extra: Extra = {}): Harness<DeltaDiscoveryResponse> & { stream: DeltaStream } {
  const { h, options } = harness<DeltaDiscoveryResponse>(extra);
  return Object.assign(h, { stream: new DeltaStream(options) });
}

/** Names of the resources in a response, decoded. */
export function names(resources: readonly { type_url: string; value: Uint8Array }[]): string[] {
  return resources.map((r) => {
    const json = codec.decodeAny(r);
    return String(json.name ?? json.cluster_name);
  });
}
