// A real gRPC client for envoy.service.auth.v3.Authorization, built from the
// same Envoy protos Envoy uses, sending CheckRequests shaped like Envoy's.
import * as grpc from '@grpc/grpc-js';
import { loadEnvoyGrpc, lookup } from '../../src/envoy-xds/protos.js';

export interface CheckSpec {
  method?: string;
  path: string;
  host: string;
  headers?: Record<string, string>;
  /** Sent as `body` (string) unless `raw` is set. */
  body?: string | Uint8Array;
  raw?: boolean;
  partial?: boolean;
  source?: { ip: string; port?: number };
  destination?: { ip: string; port?: number };
  contextExtensions?: Record<string, string>;
}

export interface CheckResult {
  allowed: boolean;
  grpcCode: number;
  httpStatus?: number;
  body?: string;
  reason?: string;
  headersSet: Record<string, string>;
  headersToRemove: string[];
  raw: unknown;
}

interface RawResponse {
  status?: { code?: number };
  ok_response?: { headers?: { header: { key: string; value: string } }[]; headers_to_remove?: string[] };
  denied_response?: { status?: { code?: number | string }; body?: string };
}

export function checkRequestMessage(spec: CheckSpec): unknown {
  const headers: Record<string, string> = {
    ':method': spec.method ?? 'POST',
    ':path': spec.path,
    ':authority': spec.host,
    ...Object.fromEntries(Object.entries(spec.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const http: Record<string, unknown> = {
    id: String(Math.floor(Math.random() * 1e12)),
    method: spec.method ?? 'POST',
    path: spec.path,
    host: spec.host,
    scheme: 'http',
    protocol: 'HTTP/1.1',
    headers,
  };
  if (spec.body !== undefined) {
    const bytes = typeof spec.body === 'string' ? Buffer.from(spec.body) : Buffer.from(spec.body);
    headers['content-length'] = String(bytes.length);
    headers['x-envoy-auth-partial-body'] = spec.partial ? 'true' : 'false';
    if (spec.raw) http.raw_body = bytes;
    else http.body = bytes.toString('utf8');
    http.size = String(bytes.length);
  }
  const peer = (p?: { ip: string; port?: number }) =>
    p ? { address: { socket_address: { address: p.ip, port_value: p.port ?? 0 } } } : undefined;
  return {
    attributes: {
      source: peer(spec.source),
      destination: peer(spec.destination),
      request: { http },
      context_extensions: spec.contextExtensions ?? {},
    },
  };
}

export class AuthzClient {
  private readonly client: grpc.Client & Record<string, unknown>;

  constructor(target: string) {
    const pkg = loadEnvoyGrpc(['envoy/service/auth/v3/external_auth.proto']);
    const Ctor = lookup<grpc.ServiceClientConstructor>(pkg, 'envoy.service.auth.v3.Authorization');
    this.client = new Ctor(target, grpc.credentials.createInsecure()) as grpc.Client &
      Record<string, unknown>;
  }

  check(spec: CheckSpec, deadlineMs = 5000): Promise<CheckResult> {
    return this.checkRaw(checkRequestMessage(spec), deadlineMs);
  }

  checkRaw(message: unknown, deadlineMs = 5000): Promise<CheckResult> {
    const fn = this.client.Check as (
      req: unknown,
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res: RawResponse) => void,
    ) => void;
    return new Promise((resolve, reject) => {
      fn.call(this.client, message, { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err) return reject(err);
        const code = res.status?.code ?? 0;
        const headersSet: Record<string, string> = {};
        for (const h of res.ok_response?.headers ?? [])
          headersSet[h.header.key.toLowerCase()] = h.header.value;
        let reason: string | undefined;
        const body = res.denied_response?.body;
        if (body) {
          try {
            reason = (JSON.parse(body) as { error?: string }).error;
          } catch {
            reason = undefined;
          }
        }
        const st = res.denied_response?.status?.code;
        resolve({
          allowed: code === 0,
          grpcCode: code,
          httpStatus: typeof st === 'number' ? st : st === 'Forbidden' ? 403 : undefined,
          body,
          reason,
          headersSet,
          headersToRemove: res.ok_response?.headers_to_remove ?? [],
          raw: res,
        });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
