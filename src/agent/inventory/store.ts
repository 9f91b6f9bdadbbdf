// The objects every stream holds, merged per object key. The same object can
// arrive on two streams (a pod on this node is seen by the node-scoped watch
// and, briefly while it is being scheduled, by its namespace's watch); the
// copy applied last wins, and the object is gone only when every stream that
// held it has deleted it — so the order in which streams report never leaves
// a stale entry or drops a live one.
import type { InventoryEvent } from './events.js';
import { type InventoryObject, KINDS, type Kind } from './objects.js';

export interface StoreChange {
  readonly kind: Kind;
  readonly key: string;
  readonly before?: InventoryObject;
  readonly after?: InventoryObject;
}

interface Copy {
  readonly stream: string;
  readonly object: InventoryObject;
  readonly seq: number;
}

/** The copy applied last (arrays hold one copy almost always, two while a pod moves streams). */
function latest(copies: readonly Copy[] | undefined): InventoryObject | undefined {
  let best: Copy | undefined;
  for (const c of copies ?? []) if (!best || c.seq > best.seq) best = c;
  return best?.object;
}

export class ObjectStore {
  private readonly byKind = new Map<Kind, Map<string, Copy[]>>();
  private seq = 0;

  constructor() {
    for (const k of KINDS) this.byKind.set(k, new Map());
  }

  /** Applies one add/update/delete; returns the change of the merged object, if any. */
  apply(event: Exclude<InventoryEvent, { type: 'problem' }>): StoreChange | undefined {
    const { kind, key } = event.object;
    const all = this.byKind.get(kind) as Map<string, Copy[]>;
    const copies = all.get(key);
    const before = latest(copies);
    const others = (copies ?? []).filter((c) => c.stream !== event.stream);
    if (event.type === 'delete') {
      if (copies === undefined || others.length === copies.length) return undefined;
    } else others.push({ stream: event.stream, object: event.object, seq: ++this.seq });
    if (others.length === 0) all.delete(key);
    else all.set(key, others);
    const after = latest(others);
    if (before === after) return undefined;
    return { kind, key, ...(before ? { before } : {}), ...(after ? { after } : {}) };
  }

  *values<K extends Kind>(kind: K): Iterable<Extract<InventoryObject, { kind: K }>> {
    for (const copies of (this.byKind.get(kind) as Map<string, Copy[]>).values()) {
      const o = latest(copies);
      if (o) yield o as Extract<InventoryObject, { kind: K }>;
    }
  }

  get<K extends Kind>(kind: K, key: string): Extract<InventoryObject, { kind: K }> | undefined {
    return latest((this.byKind.get(kind) as Map<string, Copy[]>).get(key)) as
      | Extract<InventoryObject, { kind: K }>
      | undefined;
  }

  count(kind: Kind): number {
    return (this.byKind.get(kind) as Map<string, Copy[]>).size;
  }
}
