// Counters the xDS server keeps itself (for /metrics and /debug/state), and a
// way to fan one event out to several observers. Plain numbers: the agent maps
// them onto prom-client; this folder does not depend on it.
import type {
  AckEvent,
  NackEvent,
  ResponseEvent,
  StreamEndReason,
  StreamRef,
  XdsObserver,
} from './discovery.js';

export interface XdsCounters {
  readonly streamsOpen: number;
  readonly streamsOpened: number;
  readonly streamsClosed: Readonly<Partial<Record<StreamEndReason, number>>>;
  /** By type URL. */
  readonly responses: Readonly<Record<string, number>>;
  readonly acks: Readonly<Record<string, number>>;
  readonly nacks: Readonly<Record<string, number>>;
}

export class XdsStats implements XdsObserver {
  private open = 0;
  private opened = 0;
  private readonly closed: Partial<Record<StreamEndReason, number>> = {};
  private readonly responses: Record<string, number> = {};
  private readonly acks: Record<string, number> = {};
  private readonly nacks: Record<string, number> = {};

  onStreamOpen(_stream: StreamRef): void {
    this.open++;
    this.opened++;
  }

  onStreamClose(_stream: StreamRef, reason: StreamEndReason): void {
    this.open--;
    this.closed[reason] = (this.closed[reason] ?? 0) + 1;
  }

  onResponse(e: ResponseEvent): void {
    this.responses[e.typeUrl] = (this.responses[e.typeUrl] ?? 0) + 1;
  }

  onAck(e: AckEvent): void {
    this.acks[e.typeUrl] = (this.acks[e.typeUrl] ?? 0) + 1;
  }

  onNack(e: NackEvent): void {
    this.nacks[e.typeUrl] = (this.nacks[e.typeUrl] ?? 0) + 1;
  }

  snapshot(): XdsCounters {
    return {
      streamsOpen: this.open,
      streamsOpened: this.opened,
      streamsClosed: { ...this.closed },
      responses: { ...this.responses },
      acks: { ...this.acks },
      nacks: { ...this.nacks },
    };
  }
}

/**
 * One observer calling each given observer in turn. A throwing observer is
 * reported to `onError` and does not stop the others (nor the stream).
 */
export function fanOut(
  observers: readonly (XdsObserver | undefined)[],
  onError?: (err: unknown) => void,
): XdsObserver {
  const list = observers.filter((o): o is XdsObserver => o !== undefined);
  const call = <K extends keyof XdsObserver>(method: K, args: Parameters<NonNullable<XdsObserver[K]>>) => {
    for (const o of list) {
      const fn = o[method] as ((...a: unknown[]) => void) | undefined;
      if (!fn) continue;
      try {
        fn.apply(o, args);
      } catch (err) {
        onError?.(err);
      }
    }
  };
  return {
    onStreamOpen: (...a) => call('onStreamOpen', a),
    onStreamClose: (...a) => call('onStreamClose', a),
    onResponse: (...a) => call('onResponse', a),
    onAck: (...a) => call('onAck', a),
    onNack: (...a) => call('onNack', a),
  };
}
