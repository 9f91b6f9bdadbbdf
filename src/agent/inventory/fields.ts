// Field readers for untrusted Kubernetes objects: each failure throws an
// ObjectError naming the object (`Pod travel/planner-0`) and the field path
// (`status.podIPs[1].ip`), so an operator can find the line to fix.

export type Obj = Readonly<Record<string, unknown>>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class ObjectError extends Error {
  override name = 'ObjectError';
  constructor(
    /** `Kind namespace/name` (or just `Kind` when the name itself is unreadable). */
    readonly object: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${object}: ${field}: ${problem}`);
  }
}

/** Reads fields of one object; every error names that object. */
export class FieldReader {
  constructor(readonly object: string) {}

  fail(field: string, problem: string): never {
    throw new ObjectError(this.object, field, problem);
  }

  obj(v: unknown, field: string): Obj | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) this.fail(field, `expected an object, got ${describe(v)}`);
    return v;
  }

  requiredObj(v: unknown, field: string): Obj {
    return this.obj(v, field) ?? this.fail(field, 'is required');
  }

  list(v: unknown, field: string): readonly unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(field, `expected a list, got ${describe(v)}`);
    return v;
  }

  /** A non-empty string, trimmed; undefined when absent (null counts as absent). */
  str(v: unknown, field: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(field, `expected a string, got ${describe(v)}`);
    const t = v.trim();
    if (t === '') this.fail(field, 'must not be empty');
    return t;
  }

  requiredStr(v: unknown, field: string): string {
    return this.str(v, field) ?? this.fail(field, 'is required');
  }

  bool(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(field, `expected true or false, got ${describe(v)}`);
    return v;
  }

  /** A `map[string]string` such as labels or a selector. */
  stringMap(v: unknown, field: string): Readonly<Record<string, string>> {
    const o = this.obj(v, field);
    if (!o) return {};
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(o)) {
      if (typeof val !== 'string') this.fail(`${field}.${k}`, `expected a string, got ${describe(val)}`);
      out[k] = val;
    }
    return out;
  }

  /** An RFC 3339 timestamp as epoch milliseconds. */
  time(v: unknown, field: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (v instanceof Date) return v.getTime();
    if (typeof v !== 'string') this.fail(field, `expected an RFC 3339 timestamp, got ${describe(v)}`);
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) this.fail(field, `expected an RFC 3339 timestamp, got ${JSON.stringify(v)}`);
    return ms;
  }
}

/** A short description of an unexpected value for error messages (never the value of a Secret). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return v.length > 60 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly createdAt?: number;
  readonly deleting: boolean;
  readonly ownerReferences: readonly OwnerRef[];
  readonly generation?: number;
}

export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
  readonly uid?: string;
  readonly controller: boolean;
}

/** `metadata` of any object. `namespaced` objects default to `default`, as kubectl does. */
export function readMeta(r: FieldReader, raw: Obj, namespaced: boolean): ObjectMeta {
  const m = r.requiredObj(raw.metadata, 'metadata');
  const name = r.requiredStr(m.name, 'metadata.name');
  const namespace = namespaced ? (r.str(m.namespace, 'metadata.namespace') ?? 'default') : undefined;
  const uid = r.str(m.uid, 'metadata.uid');
  const owners = r.list(m.ownerReferences, 'metadata.ownerReferences').map((o, i) => {
    const f = `metadata.ownerReferences[${i}]`;
    const ref = r.requiredObj(o, f);
    return {
      kind: r.requiredStr(ref.kind, `${f}.kind`),
      name: r.requiredStr(ref.name, `${f}.name`),
      uid: r.str(ref.uid, `${f}.uid`),
      controller: r.bool(ref.controller, `${f}.controller`) ?? false,
    };
  });
  const generation = m.generation;
  if (generation !== undefined && (typeof generation !== 'number' || !Number.isInteger(generation))) {
    r.fail('metadata.generation', `expected an integer, got ${describe(generation)}`);
  }
  return {
    name,
    namespace,
    uid,
    labels: r.stringMap(m.labels, 'metadata.labels'),
    annotations: r.stringMap(m.annotations, 'metadata.annotations'),
    createdAt: r.time(m.creationTimestamp, 'metadata.creationTimestamp'),
    deleting: m.deletionTimestamp !== undefined && m.deletionTimestamp !== null,
    ownerReferences: owners,
    generation: generation as number | undefined,
  };
}

/** `Kind ns/name` from whatever metadata is readable, for errors raised before readMeta succeeds. */
export function objectName(kind: string, raw: unknown): string {
  const m = isObj(raw) && isObj(raw.metadata) ? raw.metadata : undefined;
  const name = typeof m?.name === 'string' && m.name !== '' ? m.name : undefined;
  if (!name) return kind;
  const ns = typeof m?.namespace === 'string' && m.namespace !== '' ? m.namespace : undefined;
  return ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
}
