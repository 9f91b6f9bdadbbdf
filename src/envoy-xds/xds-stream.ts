// What the SotW and incremental stream state machines share: binding the
// stream to a node (and to its snapshot watch), flow control, nonces, limits,
// ACK/NACK reporting and the per-type status shown in /debug/state. Pure
// protocol state: no gRPC, so every rule is unit-testable with plain objects.
import {
  type ErrorDetail,
  type StreamKind,
  type StreamRef,
  type TypeStatus,
  type XdsClientStatus,
  type XdsNode,
  type XdsObserver,
  XdsProtocolError,
} from './discovery.js';
import type { NodeSnapshot, SnapshotStore } from './snapshot-store.js';

const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
/** A NACK's error text is kept (for /debug/state) up to this many characters. */
const MAX_ERROR_CHARS = 2048;

export interface StreamLimits {
  /** Distinct type URLs one stream may subscribe to (default 32). */
  readonly maxTypesPerStream?: number;
  /** Resource names one stream may subscribe to per type (default 65536). */
  readonly maxNamesPerType?: number;
}

export interface StreamOptions<Resp> {
  readonly store: SnapshotStore;
  readonly streamId: string;
  /** gRPC service name, for reports. */
  readonly service: string;
  /** Per-type services imply the type; ADS streams leave this unset. */
  readonly fixedTypeUrl?: string;
  /** Maps the client's Node to a snapshot key (default: node.id, which must be set). */
  readonly nodeKey?: (node: XdsNode | undefined) => string;
  readonly observer?: XdsObserver;
  readonly limits?: StreamLimits;
  /**
   * Hands a response to the transport. Returning false means "buffer full":
   * the stream computes nothing more until resume() (then sends the latest state).
   */
  readonly send: (response: Resp) => boolean;
}

/** Bookkeeping every type on a stream has. */
export interface TypeTracking {
  /** Version of the last response sent. */
  sent?: string;
  acked?: string;
  nacked?: string;
  error?: string;
}

export abstract class XdsStream<Req, Resp, State extends TypeTracking> {
  readonly streamId: string;
  abstract readonly kind: StreamKind;
  protected readonly types = new Map<string, State>();
  protected nodeKeyValue?: string;
  private nodeId = '';
  private userAgent?: string;
  private unwatch?: () => void;
  private paused = false;
  private dirty = false;
  private closedFlag = false;
  private nonceCounter = 0;
  protected readonly maxTypes: number;
  protected readonly maxNames: number;

  constructor(protected readonly opts: StreamOptions<Resp>) {
    this.streamId = opts.streamId;
    this.maxTypes = opts.limits?.maxTypesPerStream ?? 32;
    this.maxNames = opts.limits?.maxNamesPerType ?? 65_536;
  }

  /** Processes one client request; may send responses. @throws XdsProtocolError */
  abstract handle(request: Req): void;

  /** Recomputes what a type should receive and sends it if anything is due. */
  protected abstract refresh(typeUrl: string, state: State, snapshot: NodeSnapshot): void;

  get closed(): boolean {
    return this.closedFlag;
  }

  get ref(): StreamRef {
    return { streamId: this.streamId, kind: this.kind, service: this.opts.service, nodeId: this.nodeId };
  }

  /** The transport drained its buffer: send whatever became due meanwhile. */
  resume(): void {
    this.paused = false;
    if (!this.dirty || this.closedFlag) return;
    this.dirty = false;
    this.refreshAll();
  }

  /** Ends the stream's interest: drops the watch and all per-type state. Idempotent. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.unwatch?.();
    this.unwatch = undefined;
    this.types.clear();
  }

  status(): XdsClientStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [typeUrl, s] of this.types) {
      types[typeUrl] = { sent: s.sent, acked: s.acked, nacked: s.nacked, error: s.error };
    }
    return {
      node: this.nodeId,
      stream: this.streamId,
      kind: this.kind,
      service: this.opts.service,
      userAgent: this.userAgent,
      types,
    };
  }

  /** The type a request is about; per-type services fix it. */
  protected typeUrlOf(requested: string | undefined): string {
    const fixed = this.opts.fixedTypeUrl;
    if (fixed) {
      if (requested && requested !== fixed) {
        throw new XdsProtocolError(INVALID_ARGUMENT, `this service serves ${fixed}, not ${requested}`);
      }
      return fixed;
    }
    if (!requested)
      throw new XdsProtocolError(INVALID_ARGUMENT, 'type_url is required on an aggregated stream');
    return requested;
  }

  /** Only the first request must carry the node (xds_protocol "Basic Protocol Overview"). */
  protected bindNode(node: XdsNode | null | undefined): void {
    if (this.nodeKeyValue !== undefined) return;
    const key = this.opts.nodeKey ? this.opts.nodeKey(node ?? undefined) : (node?.id ?? '');
    if (!key) throw new XdsProtocolError(INVALID_ARGUMENT, 'the first request must carry node.id');
    this.nodeKeyValue = key;
    this.nodeId = node?.id ?? '';
    const ua = [node?.user_agent_name, node?.user_agent_version].filter(Boolean).join('/');
    this.userAgent = ua || undefined;
    this.unwatch = this.opts.store.watch(key, (snapshot) => {
      if (snapshot && !this.closedFlag) this.schedule();
    });
  }

  protected stateFor(typeUrl: string, create: () => State): { state: State; first: boolean } {
    const existing = this.types.get(typeUrl);
    if (existing) return { state: existing, first: false };
    if (this.types.size >= this.maxTypes) {
      throw new XdsProtocolError(
        RESOURCE_EXHAUSTED,
        `more than ${this.maxTypes} resource types on one stream`,
      );
    }
    const state = create();
    this.types.set(typeUrl, state);
    return { state, first: true };
  }

  protected checkNames(count: number, typeUrl: string): void {
    if (count > this.maxNames) {
      throw new XdsProtocolError(
        RESOURCE_EXHAUSTED,
        `more than ${this.maxNames} ${typeUrl} names on one stream`,
      );
    }
  }

  /** Refreshes one type now, or later if the transport is full. */
  protected update(typeUrl: string, state: State): void {
    if (this.closedFlag) return;
    if (this.paused) {
      this.dirty = true;
      return;
    }
    const snapshot =
      this.nodeKeyValue === undefined ? undefined : this.opts.store.snapshot(this.nodeKeyValue);
    // No snapshot yet (agent starting, node unknown): answer nothing rather
    // than tell the client that nothing exists.
    if (snapshot) this.refresh(typeUrl, state, snapshot);
  }

  protected nextNonce(): string {
    this.nonceCounter += 1;
    return this.nonceCounter.toString(36);
  }

  /** Sends and reports a response; a full buffer pauses the stream. */
  protected emit(
    response: Resp,
    event: { typeUrl: string; version: string; nonce: string; resources: number; removed: number },
  ): void {
    const ok = this.opts.send(response);
    this.opts.observer?.onResponse?.({ ...this.ref, ...event });
    if (!ok) this.paused = true;
  }

  protected reportAck(typeUrl: string, state: State, version: string, nonce: string): void {
    state.acked = version;
    state.nacked = undefined;
    state.error = undefined;
    this.opts.observer?.onAck?.({ ...this.ref, typeUrl, version, nonce });
  }

  protected reportNack(
    typeUrl: string,
    state: State,
    version: string,
    nonce: string,
    detail: ErrorDetail,
  ): void {
    const message = String(detail.message ?? '');
    state.nacked = version;
    state.error = message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message;
    this.opts.observer?.onNack?.({
      ...this.ref,
      typeUrl,
      version,
      nonce,
      lastAcked: state.acked,
      errorCode: Number(detail.code ?? 0),
      errorMessage: state.error,
    });
  }

  private schedule(): void {
    if (this.paused) {
      this.dirty = true;
      return;
    }
    this.refreshAll();
  }

  private refreshAll(): void {
    for (const [typeUrl, state] of this.types) this.update(typeUrl, state);
  }
}

/**
 * A NACK is a request in which error_detail is present, whatever its content
 * (xds_protocol "ACK and NACK semantics summary"); version_info alone is not
 * used, since a client may NACK while keeping the new version of other resources.
 */
export function isNack(detail: ErrorDetail | null | undefined): detail is ErrorDetail {
  return detail !== null && detail !== undefined;
}
