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
  readonly object: InventoryObject;
  readonly seq: number;
}

export class ObjectStore {
  private readonly byKind = new Map<Kind, Map<string, Map<string, Copy>>>();
  private readonly effective = new Map<Kind, Map<string, InventoryObject>>();
  private seq = 0;

  constructor() {
    for (const k of KINDS) {
      this.byKind.set(k, new Map());
      this.effective.set(k, new Map());
    }
  }

  /** Applies one add/update/delete; returns the change of the merged object, if any. */
  apply(event: Exclude<InventoryEvent, { type: 'problem' }>): StoreChange | undefined {
    const { kind, key } = event.object;
    const copies = this.byKind.get(kind) as Map<string, Map<string, Copy>>;
    const eff = this.effective.get(kind) as Map<string, InventoryObject>;
    const before = eff.get(key);
    let perStream = copies.get(key);
    if (event.type === 'delete') {
      if (!perStream?.delete(event.stream)) return undefined;
      if (perStream.size === 0) copies.delete(key);
    } else {
      if (!perStream) {
        perStream = new Map();
        copies.set(key, perStream);
      }
      perStream.set(event.stream, { object: event.object, seq: ++this.seq });
    }
    let after: InventoryObject | undefined;
    let best = -1;
    for (const c of perStream?.values() ?? []) {
      if (c.seq > best) {
        best = c.seq;
        after = c.object;
      }
    }
    if (after) eff.set(key, after);
    else eff.delete(key);
    if (before === after) return undefined;
    return { kind, key, ...(before ? { before } : {}), ...(after ? { after } : {}) };
  }

  values<K extends Kind>(kind: K): Iterable<Extract<InventoryObject, { kind: K }>> {
    return (this.effective.get(kind) as Map<string, Extract<InventoryObject, { kind: K }>>).values();
  }

  get<K extends Kind>(kind: K, key: string): Extract<InventoryObject, { kind: K }> | undefined {
    return (this.effective.get(kind) as Map<string, Extract<InventoryObject, { kind: K }>>).get(key);
  }

  count(kind: Kind): number {
    return (this.effective.get(kind) as Map<string, InventoryObject>).size;
  }
}
