// A scriptable ext_authz gRPC server for the data plane's Envoy-fidelity
// tests: records every CheckRequest as it arrived on the wire (decoded with
// Envoy's protos) and answers what the test scripts — or nothing at all, late.
import * as grpc from '@grpc/grpc-js';
import { loadEnvoyGrpc, lookup } from '../../../src/envoy-xds/protos.js';

export interface RecordedCheck {
  readonly attributes: {
    readonly source?: { address?: { socket_address?: { address?: string; port_value?: number } } };
    readonly destination?: { address?: { socket_address?: { address?: string; port_value?: number } } };
    readonly request?: {
      readonly time?: { seconds?: string };
      readonly http?: {
        readonly id?: string;
        readonly method?: string;
        readonly headers?: Record<string, string>;
        readonly path?: string;
        readonly host?: string;
        readonly scheme?: string;
        readonly size?: string;
        readonly protocol?: string;
        readonly body?: string;
        readonly raw_body?: Buffer;
      };
    };
    readonly context_extensions?: Record<string, string>;
  };
}

export type Script = (req: RecordedCheck) => unknown | Promise<unknown>;

export const ALLOW: unknown = { status: { code: 0 }, ok_response: {} };

export class AuthzPeer {
  readonly checks: RecordedCheck[] = [];
  script: Script = () => ALLOW;
  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
  ) {}

  static async start(): Promise<AuthzPeer> {
    const server = new grpc.Server();
    const pkg = loadEnvoyGrpc(['envoy/service/auth/v3/external_auth.proto']);
    const svc = lookup<grpc.ServiceClientConstructor>(pkg, 'envoy.service.auth.v3.Authorization').service;
    let peer: AuthzPeer | undefined;
    server.addService(svc, {
      Check: (call: grpc.ServerUnaryCall<RecordedCheck, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const p = peer as AuthzPeer;
        p.checks.push(call.request);
        Promise.resolve(p.script(call.request)).then(
          (res) => cb(null, res),
          (err: Error) => cb({ code: grpc.status.INTERNAL, details: err.message }),
        );
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    peer = new AuthzPeer(server, port);
    return peer;
  }

  close(): void {
    this.server.forceShutdown();
  }
}
