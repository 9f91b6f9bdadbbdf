// The kubectl JSONPath subset CASA uses for `httpRequestSchema.promptFieldJsonPath`
// (https://kubernetes.io/docs/reference/kubectl/jsonpath/):
//   {.prompt}   {.a.b}   {.messages[-1].content}   {.a[0]}   {.a['key with.dot']}
// An optional `$` may start the expression ({$.a}); the braces may be left out
// when the expression starts with `$` or `.` (a convenience: kubectl would
// print such text literally). Filters, wildcards, slices, unions and recursive
// descent are not supported and fail compilation with a message naming them.
//
// Values: a string is returned as is; numbers and booleans as their JSON text
// (what kubectl prints); objects and arrays as compact JSON; `null` and a
// missing field are "not found" — a prompt must be present to start a trace.

export type JsonPathStep =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'index'; readonly index: number };

export type JsonPathValue =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly reason: 'not_found' | 'null' };

export interface CompiledJsonPath {
  readonly source: string;
  readonly steps: readonly JsonPathStep[];
  evaluate(doc: unknown): JsonPathValue;
}

export class JsonPathError extends Error {
  override name = 'JsonPathError';
}

/** Compiles once; throws JsonPathError naming the position and the problem. */
export function compileJsonPath(source: string): CompiledJsonPath {
  const steps = parse(source);
  return { source, steps, evaluate: (doc) => evaluate(steps, doc) };
}

/** Renders steps back to the canonical `{.a['b'][0]}` form. */
export function formatJsonPath(steps: readonly JsonPathStep[]): string {
  let out = '{';
  for (const s of steps) {
    if (s.kind === 'index') out += `[${s.index}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s.name)) out += `.${s.name}`;
    else out += `['${s.name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }
  return `${out}}`;
}

/**
 * Compiled paths by source, bounded (oldest entry evicted). Owned by the
 * caller (PolicyConfig), so no module-level state; compile errors are kept too.
 */
export class JsonPathCache {
  private readonly entries = new Map<string, CompiledJsonPath | JsonPathError>();
  constructor(private readonly max = 256) {}

  get(source: string): CompiledJsonPath | JsonPathError {
    const hit = this.entries.get(source);
    if (hit !== undefined) return hit;
    let value: CompiledJsonPath | JsonPathError;
    try {
      value = compileJsonPath(source);
    } catch (e) {
      value = e instanceof JsonPathError ? e : new JsonPathError(String(e));
    }
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(source, value);
    return value;
  }
}

function evaluate(steps: readonly JsonPathStep[], doc: unknown): JsonPathValue {
  let cur: unknown = doc;
  for (const s of steps) {
    if (s.kind === 'field') {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur))
        return { ok: false, reason: 'not_found' };
      if (!Object.hasOwn(cur, s.name)) return { ok: false, reason: 'not_found' };
      cur = (cur as Record<string, unknown>)[s.name];
    } else {
      if (!Array.isArray(cur)) return { ok: false, reason: 'not_found' };
      const i = s.index < 0 ? cur.length + s.index : s.index;
      if (i < 0 || i >= cur.length) return { ok: false, reason: 'not_found' };
      cur = cur[i];
    }
  }
  if (cur === undefined) return { ok: false, reason: 'not_found' };
  if (cur === null) return { ok: false, reason: 'null' };
  if (typeof cur === 'string') return { ok: true, value: cur };
  return { ok: true, value: JSON.stringify(cur) };
}

const MAX_SOURCE = 1024;

function parse(source: string): JsonPathStep[] {
  if (source.length > MAX_SOURCE) throw new JsonPathError(`JSONPath longer than ${MAX_SOURCE} characters`);
  let s = source.trim();
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new JsonPathError(`JSONPath ${quote(source)} has no closing "}"`);
    s = s.slice(1, -1).trim();
  } else if (!s.startsWith('$') && !s.startsWith('.')) {
    throw new JsonPathError(`JSONPath ${quote(source)} must look like {.field}`);
  }
  let i = 0;
  if (s[i] === '$') i++;
  const steps: JsonPathStep[] = [];
  const fail = (what: string): never => {
    throw new JsonPathError(`JSONPath ${quote(source)}: ${what} at offset ${i}`);
  };
  while (i < s.length) {
    const c = s[i];
    if (c === '.') {
      i++;
      if (s[i] === '.') fail('recursive descent ".." is not supported');
      const start = i;
      while (i < s.length && /[A-Za-z0-9_-]/.test(s[i] as string)) i++;
      if (i === start) fail(s[i] === '*' ? 'wildcard "*" is not supported' : 'expected a field name');
      steps.push({ kind: 'field', name: s.slice(start, i) });
    } else if (c === '[') {
      i++;
      const q = s[i];
      if (q === "'" || q === '"') {
        i++;
        let name = '';
        for (;;) {
          if (i >= s.length) fail('unterminated quoted key');
          const ch = s[i] as string;
          if (ch === '\\' && i + 1 < s.length) {
            name += s[i + 1];
            i += 2;
            continue;
          }
          if (ch === q) break;
          name += ch;
          i++;
        }
        i++;
        if (s[i] !== ']') fail('expected "]" after quoted key');
        i++;
        steps.push({ kind: 'field', name });
      } else {
        const m = /^-?\d{1,9}/.exec(s.slice(i));
        if (!m) {
          const tail = s.slice(i);
          fail(
            tail.startsWith('?')
              ? 'filters are not supported'
              : tail.startsWith('*')
                ? 'wildcard "*" is not supported'
                : 'expected an index or a quoted key',
          );
        }
        const text = (m as RegExpExecArray)[0];
        i += text.length;
        if (s[i] === ':') fail('slices are not supported');
        if (s[i] === ',') fail('unions are not supported');
        if (s[i] !== ']') fail('expected "]"');
        i++;
        steps.push({ kind: 'index', index: Number(text) });
      }
    } else if (c === '{' || c === '}') {
      fail('only one {…} expression is supported');
    } else if (c === ' ') {
      fail('unexpected space');
    } else {
      fail(`unexpected ${quote(c as string)}`);
    }
  }
  return steps;
}

function quote(s: string): string {
  return JSON.stringify(s);
}
