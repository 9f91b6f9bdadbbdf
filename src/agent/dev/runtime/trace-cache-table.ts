// The runtime side of CASA's trace → token cache (casa-research.md §1.5):
// insert-only rows; a load matches namespace, trace id, app host and app
// type, filters on `tool` only when one is given, and returns the newest row.
// Bounded: the oldest rows go first.
import { randomUUID } from 'node:crypto';

export interface TokenCacheRow {
  readonly id: string;
  readonly namespace: string;
  readonly trace_id: string;
  readonly app_host: string;
  readonly app_type: string;
  readonly access_token: string;
  readonly tool: string | null;
  readonly created_at: string;
}

export interface TokenCacheQuery {
  readonly namespace: string;
  readonly trace_id: string;
  readonly app_host: string;
  readonly app_type: string;
  readonly tool: string | null;
}

export class TraceCacheTable {
  readonly #rows: TokenCacheRow[] = [];
  readonly #max: number;

  constructor(maxRows = 10_000) {
    this.#max = maxRows;
  }

  insert(row: Omit<TokenCacheRow, 'id' | 'created_at'>, now: number): TokenCacheRow {
    const full: TokenCacheRow = { ...row, id: randomUUID(), created_at: new Date(now).toISOString() };
    this.#rows.push(full);
    if (this.#rows.length > this.#max) this.#rows.splice(0, this.#rows.length - this.#max);
    return full;
  }

  /** The newest matching row. */
  load(q: TokenCacheQuery): TokenCacheRow | undefined {
    for (let i = this.#rows.length - 1; i >= 0; i--) {
      const r = this.#rows[i];
      if (
        r &&
        r.namespace === q.namespace &&
        r.trace_id === q.trace_id &&
        r.app_host === q.app_host &&
        r.app_type === q.app_type &&
        (!q.tool || r.tool === q.tool)
      ) {
        return r;
      }
    }
    return undefined;
  }

  get size(): number {
    return this.#rows.length;
  }
}
