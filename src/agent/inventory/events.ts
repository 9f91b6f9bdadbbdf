// What a source tells the registry: add/update/delete of a decoded object,
// per object key, as an informer would; and problems (an object or a file
// that could not be read). ObjectMirror is the one place where raw objects
// become events, for both sources: it decodes, drops updates that change
// nothing the inventory keeps, keeps the last good state of an object that
// turned invalid, and turns a full relist into the deletes it implies.
import { type Decoded, type InventoryObject, type Kind, objectKey } from './objects.js';

export type InventoryEvent =
  | {
      readonly type: 'add' | 'update' | 'delete';
      /** The source stream that holds the object (e.g. `pods@node`, `secrets@ns/travel`, `file`). */
      readonly stream: string;
      readonly object: InventoryObject;
    }
  | {
      readonly type: 'problem';
      readonly stream: string;
      /** What is broken: `MultiAgentSystem travel/planner`, or a file path. */
      readonly ref: string;
      /** undefined clears an earlier problem with the same ref. */
      readonly message: string | undefined;
    };

export interface InventorySink {
  apply(event: InventoryEvent): void;
}

/** Structural equality of decoded records (plain data: strings, numbers, booleans, arrays, objects). */
export function sameRecord(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    if (!sameRecord((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

function id(kind: Kind, key: string): string {
  return `${kind} ${key}`;
}

export class ObjectMirror {
  private readonly held = new Map<string, InventoryObject>();
  private readonly problems = new Map<string, string>();

  constructor(
    readonly stream: string,
    private readonly sink: InventorySink,
  ) {}

  /** Objects currently held. */
  get size(): number {
    return this.held.size;
  }

  /** An added or modified object. */
  upsert(decoded: Decoded): void {
    if (decoded.status === 'ignored') return;
    if (decoded.status === 'invalid') {
      // The last good state (if any) stays: a typo must not un-manage an app.
      this.problem(decoded.key ? id(decoded.kind, decoded.key) : decoded.kind, decoded.error);
      return;
    }
    const o = decoded.object;
    const ref = id(o.kind, o.key);
    this.problem(ref, undefined);
    const before = this.held.get(ref);
    if (before !== undefined && sameRecord(before, o)) return;
    this.held.set(ref, o);
    this.sink.apply({ type: before ? 'update' : 'add', stream: this.stream, object: o });
  }

  /** A deleted object (a watch DELETED event carries its last state). */
  remove(kind: Kind, raw: unknown): void {
    const key = objectKey(kind, raw);
    if (key !== undefined) this.removeKey(kind, key);
  }

  removeKey(kind: Kind, key: string): void {
    const ref = id(kind, key);
    this.problem(ref, undefined);
    const before = this.held.get(ref);
    if (!before) return;
    this.held.delete(ref);
    this.sink.apply({ type: 'delete', stream: this.stream, object: before });
  }

  /**
   * The complete current set of objects of `kinds` (a relist, or a rescan of
   * a folder). Held objects of those kinds that are absent are deleted; an
   * invalid object keeps its last good state, since it still exists.
   */
  replace(kinds: readonly Kind[], all: readonly Decoded[]): void {
    const present = new Set<string>();
    for (const d of all) {
      if (d.status === 'ok') present.add(id(d.object.kind, d.object.key));
      else if (d.status === 'invalid' && d.key) present.add(id(d.kind, d.key));
    }
    const wanted = new Set<string>(kinds);
    for (const [ref, h] of [...this.held]) {
      if (wanted.has(h.kind) && !present.has(ref)) this.removeKey(h.kind, h.key);
    }
    for (const ref of [...this.problems.keys()]) {
      const kind = ref.split(' ', 1)[0] ?? '';
      if (wanted.has(kind) && !present.has(ref)) this.problem(ref, undefined);
    }
    for (const d of all) this.upsert(d);
  }

  /** The stream stopped (e.g. its namespace is no longer managed): everything it held goes. */
  clear(): void {
    for (const h of [...this.held.values()]) this.removeKey(h.kind, h.key);
    for (const ref of [...this.problems.keys()]) this.problem(ref, undefined);
  }

  /** Report (or clear, with undefined) a problem that is not about one object, e.g. a file. */
  problem(ref: string, message: string | undefined): void {
    if (message === undefined) {
      if (!this.problems.delete(ref)) return;
    } else {
      if (this.problems.get(ref) === message) return;
      this.problems.set(ref, message);
    }
    this.sink.apply({ type: 'problem', stream: this.stream, ref, message });
  }
}
