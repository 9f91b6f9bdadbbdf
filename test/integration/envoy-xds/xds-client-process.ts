// Parent side of xds-client-child.ts: starts the child with a bootstrap that
// points @grpc/grpc-js-xds at our server, and asks it to make calls.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EnvoyJson } from '../../../src/envoy-xds/codec.js';
import { TYPE_URL } from '../../../src/envoy-xds/discovery.js';
import type { SnapshotInput } from '../../../src/envoy-xds/snapshot-store.js';

export type CallResult =
  | { readonly ok: true; readonly backend: string }
  | { readonly ok: false; readonly code: number; readonly details: string };

const CHILD = fileURLToPath(new URL('./xds-client-child.js', import.meta.url));

export class XdsClientProcess {
  private nextId = 1;
  private readonly pending = new Map<number, (r: CallResult) => void>();
  stderr = '';

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { id?: number } & Partial<CallResult>) => {
      if (m.id === undefined) return;
      const { id, ...result } = m;
      const resolve = this.pending.get(id);
      this.pending.delete(id);
      resolve?.(result as CallResult);
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
  }

  static async start(
    xdsPort: number,
    nodeId: string,
    extraEnv: Record<string, string> = {},
  ): Promise<XdsClientProcess> {
    const bootstrap = {
      xds_servers: [
        {
          server_uri: `127.0.0.1:${xdsPort}`,
          channel_creds: [{ type: 'insecure' }],
          server_features: ['xds_v3'],
        },
      ],
      node: { id: nodeId, locality: {} },
    };
    const child = fork(CHILD, [], {
      env: { ...process.env, ...extraEnv, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const proc = new XdsClientProcess(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`xDS client child did not start: ${proc.stderr}`)),
        10_000,
      );
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`xDS client child exited (${code}): ${proc.stderr}`)));
    });
    return proc;
  }

  /** One real gRPC call to `xds:///<target>` from the child. */
  call(target: string, deadlineMs = 5000): Promise<CallResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ id, target: `xds:///${target}`, deadlineMs });
    });
  }

  /** Calls until one lands on `backend` (config changes reach the client asynchronously). */
  async callUntil(target: string, backend: string, timeoutMs = 10_000): Promise<CallResult[]> {
    const results: CallResult[] = [];
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const r = await this.call(target, 2000);
      results.push(r);
      if (r.ok && r.backend === backend) return results;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`no call reached ${backend} in ${timeoutMs} ms: ${JSON.stringify(results.slice(-3))}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ id: 0, exit: true });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

export interface GrpcClientConfig {
  /** The `xds:///<listener>` target name, also the virtual host domain. */
  readonly listener: string;
  readonly route: string;
  readonly cluster: string;
  readonly edsService: string;
  readonly ports: readonly number[];
  readonly lbPolicy?: string;
  readonly domains?: readonly string[];
}

/** The LDS -> RDS -> CDS -> EDS chain a gRPC client resolves for `xds:///<listener>`. */
export function grpcClientSnapshot(c: GrpcClientConfig): SnapshotInput {
  const listener: EnvoyJson = {
    name: c.listener,
    api_listener: {
      api_listener: {
        '@type':
          'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: c.route },
        http_filters: [
          {
            name: 'router',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
          },
        ],
      },
    },
  };
  const route: EnvoyJson = {
    name: c.route,
    virtual_hosts: [
      {
        name: 'vh',
        domains: [...(c.domains ?? [c.listener])],
        routes: [{ match: { prefix: '' }, route: { cluster: c.cluster } }],
      },
    ],
  };
  const cluster: EnvoyJson = {
    name: c.cluster,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: c.edsService },
    lb_policy: c.lbPolicy ?? 'ROUND_ROBIN',
    connect_timeout: '1s',
  };
  const endpoints: EnvoyJson = {
    cluster_name: c.edsService,
    endpoints: [
      {
        locality: { region: 'test', zone: 'a' },
        load_balancing_weight: 1,
        lb_endpoints: c.ports.map((port) => ({
          endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
        })),
      },
    ],
  };
  return {
    [TYPE_URL.listener]: [listener],
    [TYPE_URL.route]: [route],
    [TYPE_URL.cluster]: [cluster],
    [TYPE_URL.endpoint]: [endpoints],
  };
}
