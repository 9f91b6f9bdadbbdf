// A fixed-size ring of recent decisions for /debug/decisions. Records hold
// identities, reasons and timings — never a token or a body.
import type { DenyReason } from '../../policy/types.js';

export interface DecisionRecord {
  readonly at: string;
  readonly traceId?: string;
  readonly requestId?: string;
  readonly direction: 'inbound' | 'outbound' | 'both' | 'none';
  readonly decision: 'allow' | 'deny';
  readonly reason?: DenyReason;
  readonly message?: string;
  readonly status?: number;
  readonly protocol?: string;
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly mcpMethod?: string;
  readonly tool?: string;
  readonly a2aMethod?: string;
  readonly source?: string;
  readonly destination?: string;
  readonly runtimeCalls: number;
  readonly cache?: string;
  readonly latencyMs: number;
}

export class DecisionLog {
  private readonly ring: (DecisionRecord | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array(Math.max(0, capacity));
  }

  add(rec: DecisionRecord): void {
    if (this.ring.length === 0) return;
    this.ring[this.next] = rec;
    this.next = (this.next + 1) % this.ring.length;
    if (this.count < this.ring.length) this.count++;
  }

  /** Newest first. */
  recent(limit = this.count): DecisionRecord[] {
    const out: DecisionRecord[] = [];
    const n = Math.min(limit, this.count);
    for (let i = 1; i <= n; i++) {
      const rec = this.ring[(this.next - i + this.ring.length) % this.ring.length];
      if (rec) out.push(rec);
    }
    return out;
  }
}
