// The ext_authz gRPC endpoint: `envoy.service.auth.v3.Authorization/Check`
// plus the standard gRPC health service. Transport only — the decision is the
// Authorizer's. Every failure here, including a malformed request, a throw,
// and the Check's own deadline, ends in a deny with a reason code.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { loadEnvoyGrpc, lookup } from '../../envoy-xds/protos.js';
import { type Deny, deny } from '../../policy/types.js';
import type { HostPort } from '../config/load.js';
import type { Authorizer, CheckObserver, CheckOutcome } from './authorizer-port.js';
import {
  type CheckInput,
  type CheckRequestMessage,
  MalformedCheckRequest,
  parseCheckRequest,
} from './check-request.js';
import { type CheckResponseMessage, deniedResponse, okResponse } from './check-response.js';

export const AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';

export interface AuthzServerOptions {
  readonly authorizer: Authorizer;
  /**
   * Answer with `deadline_exceeded` this long before the caller's gRPC deadline,
   * so Envoy receives our deny rather than a timeout of its own.
   */
  readonly deadlineMarginMs?: number;
  /** Used when the caller sent no deadline. */
  readonly defaultTimeoutMs: number;
  /** Observes every answered Check (metrics, decision log, telemetry). */
  readonly onOutcome?: CheckObserver;
}

export class AuthzServer {
  private server?: grpc.Server;
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING', [AUTHZ_SERVICE]: 'NOT_SERVING' });
  private inFlight = 0;
  private draining = false;
  private idle?: () => void;

  constructor(private readonly opts: AuthzServerOptions) {}

  get checksInFlight(): number {
    return this.inFlight;
  }

  /** Adds the services to an existing server (Istio mode serves two ports). */
  addTo(server: grpc.Server): void {
    const pkg = loadEnvoyGrpc(['envoy/service/auth/v3/external_auth.proto']);
    const svc = lookup<grpc.ServiceClientConstructor>(pkg, AUTHZ_SERVICE).service;
    server.addService(svc, {
      Check: (
        call: grpc.ServerUnaryCall<CheckRequestMessage, CheckResponseMessage>,
        cb: grpc.sendUnaryData<CheckResponseMessage>,
      ) => this.check(call, cb),
    });
    this.health.addToServer(server);
  }

  async listen(at: HostPort): Promise<HostPort> {
    const server = new grpc.Server({
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
    this.addTo(server);
    const port = await new Promise<number>((resolve, reject) => {
      const host = at.host.includes(':') ? `[${at.host}]` : at.host;
      server.bindAsync(`${host}:${at.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      );
    });
    this.server = server;
    this.setServing(true);
    return { host: at.host, port };
  }

  setServing(serving: boolean): void {
    const s = serving && !this.draining ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', s);
    this.health.setStatus(AUTHZ_SERVICE, s);
  }

  /**
   * Graceful shutdown: report NOT_SERVING, stop accepting, let in-flight Checks
   * finish for up to `drainMs`, then cut what is left.
   */
  async shutdown(drainMs: number): Promise<void> {
    this.draining = true;
    this.setServing(false);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const drained = this.inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => (this.idle = r));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, drainMs)))]);
    clearTimeout(timer);
    await new Promise<void>((resolve) => {
      server.tryShutdown(() => resolve());
      // Streams the client keeps open (health Watch) would hold tryShutdown forever.
      setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 250).unref();
    });
  }

  private check(
    call: grpc.ServerUnaryCall<CheckRequestMessage, CheckResponseMessage>,
    cb: grpc.sendUnaryData<CheckResponseMessage>,
  ): void {
    const started = performance.now();
    this.inFlight++;
    let input: CheckInput | undefined;
    const finish = (outcome: CheckOutcome) => {
      this.inFlight--;
      const answeredAt = performance.now();
      const elapsed = answeredAt - started;
      const msg =
        outcome.decision.kind === 'allow' ? okResponse(outcome.decision) : deniedResponse(outcome.decision);
      cb(null, msg);
      try {
        this.opts.onOutcome?.(input, outcome, elapsed, answeredAt);
      } catch {
        // Observers must never affect the answer already sent.
      }
      if (this.inFlight === 0 && this.idle) {
        this.idle();
        this.idle = undefined;
      }
    };

    if (this.draining) {
      finish(failed(deny('overloaded', 'agent is shutting down')));
      return;
    }
    try {
      input = parseCheckRequest(call.request);
    } catch (err) {
      const why = err instanceof MalformedCheckRequest ? err.message : 'CheckRequest could not be read';
      finish(failed(deny('body_invalid', why)));
      return;
    }

    const budget = this.budgetMs(call.getDeadline());
    const ac = new AbortController();
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      ac.abort();
      finish(failed(deny('deadline_exceeded', `no decision within ${Math.round(budget)}ms`)));
    }, budget);
    const onCancel = () => ac.abort();
    call.once('cancelled', onCancel);

    this.opts.authorizer.authorize(input, ac.signal).then(
      (outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        call.off('cancelled', onCancel);
        finish(outcome);
      },
      () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        call.off('cancelled', onCancel);
        // The authorizer maps every expected failure itself; anything that
        // escapes is a bug, and a bug denies.
        finish(failed(deny('internal_error', 'authorization failed unexpectedly')));
      },
    );
  }

  private budgetMs(deadline: grpc.Deadline): number {
    const margin = this.opts.deadlineMarginMs ?? 25;
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    if (!Number.isFinite(at) || at <= 0) return this.opts.defaultTimeoutMs;
    return Math.max(1, Math.min(this.opts.defaultTimeoutMs, at - Date.now() - margin));
  }
}

function failed(d: Deny): CheckOutcome {
  return { decision: d, direction: 'none', runtimeCalls: 0 };
}
