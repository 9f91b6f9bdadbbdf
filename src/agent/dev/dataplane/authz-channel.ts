// The data plane's gRPC client of `envoy.service.auth.v3.Authorization`,
// built from Envoy's own protos. Like Envoy's grpc_service with a timeout, a
// Check that does not answer in time, or cannot be sent at all, is an error —
// which the filter, with failure_mode_allow false, turns into a 403.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { envoyProtoIncludeDirs, LOADER_OPTIONS, lookup } from '../../../envoy-xds/protos.js';
import type { CheckResponseMessage } from './check-response.js';

export type CheckCall =
  | { readonly ok: true; readonly response: CheckResponseMessage }
  | { readonly ok: false; readonly error: 'timeout' | 'unavailable' | 'error'; readonly detail: string };

let ctor: grpc.ServiceClientConstructor | undefined;

function clientCtor(): grpc.ServiceClientConstructor {
  if (!ctor) {
    // Enums as numbers: HttpStatus codes and append actions are read as Envoy reads them.
    const def = protoLoader.loadSync(['envoy/service/auth/v3/external_auth.proto'], {
      ...LOADER_OPTIONS,
      enums: Number,
      includeDirs: envoyProtoIncludeDirs(),
    });
    ctor = lookup<grpc.ServiceClientConstructor>(
      grpc.loadPackageDefinition(def),
      'envoy.service.auth.v3.Authorization',
    );
  }
  return ctor;
}

export class AuthzChannel {
  private readonly client: grpc.Client & Record<string, unknown>;

  /** `target` is `host:port` of the agent's ext_authz listener. */
  constructor(target: string) {
    const Ctor = clientCtor();
    this.client = new Ctor(target, grpc.credentials.createInsecure(), {
      // Reconnect quickly after the agent restarts; a down agent fails fast (no wait-for-ready).
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    }) as grpc.Client & Record<string, unknown>;
  }

  check(message: unknown, timeoutMs: number): Promise<CheckCall> {
    const fn = this.client.Check as (
      req: unknown,
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res: CheckResponseMessage) => void,
    ) => void;
    return new Promise((resolve) => {
      fn.call(this.client, message, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (!err) return resolve({ ok: true, response: res });
        const error =
          err.code === grpc.status.DEADLINE_EXCEEDED
            ? 'timeout'
            : err.code === grpc.status.UNAVAILABLE
              ? 'unavailable'
              : 'error';
        resolve({ ok: false, error, detail: err.details || err.message });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
