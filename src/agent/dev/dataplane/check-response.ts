// What Envoy's ext_authz filter does with a CheckResponse (decoded by
// proto-loader with enums as numbers): gRPC status OK allows and applies the
// OkHttpResponse mutations; anything else denies with the DeniedHttpResponse
// status, headers and body exactly as sent (403 when no status is given).
// Pure: header lists in, header lists out.

/** A header list in order; a name may repeat (lower-case names). */
export type HeaderList = [string, string][];

// envoy.config.core.v3.HeaderValueOption.HeaderAppendAction
const APPEND_IF_EXISTS_OR_ADD = 0;
const ADD_IF_ABSENT = 1;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;
const OVERWRITE_IF_EXISTS = 3;

interface HeaderValueOptionMessage {
  header?: { key?: string; value?: string; raw_value?: Uint8Array } | null;
  append?: { value?: boolean } | null;
  append_action?: number;
}

export interface CheckResponseMessage {
  status?: { code?: number; message?: string } | null;
  ok_response?: {
    headers?: HeaderValueOptionMessage[];
    headers_to_remove?: string[];
    response_headers_to_add?: HeaderValueOptionMessage[];
    query_parameters_to_set?: { key?: string; value?: string }[];
    query_parameters_to_remove?: string[];
  } | null;
  denied_response?: {
    status?: { code?: number } | null;
    headers?: HeaderValueOptionMessage[];
    body?: string;
  } | null;
}

export type HeaderAction = 'append' | 'add_if_absent' | 'overwrite_or_add' | 'overwrite_if_exists';

export interface HeaderMutation {
  readonly name: string;
  readonly value: string;
  readonly action: HeaderAction;
}

export type CheckVerdict =
  | {
      readonly kind: 'allow';
      readonly headers: readonly HeaderMutation[];
      readonly headersToRemove: readonly string[];
      readonly responseHeaders: readonly HeaderMutation[];
      readonly queryToSet: readonly (readonly [string, string])[];
      readonly queryToRemove: readonly string[];
    }
  | {
      readonly kind: 'deny';
      readonly status: number;
      readonly headers: readonly HeaderMutation[];
      readonly body: string;
    };

export function verdictOf(res: CheckResponseMessage): CheckVerdict {
  if ((res.status?.code ?? 0) === 0) {
    const ok = res.ok_response ?? {};
    return {
      kind: 'allow',
      headers: mutations(ok.headers),
      headersToRemove: (ok.headers_to_remove ?? []).map((h) => h.toLowerCase()),
      responseHeaders: mutations(ok.response_headers_to_add),
      queryToSet: (ok.query_parameters_to_set ?? []).map((q) => [q.key ?? '', q.value ?? ''] as const),
      queryToRemove: ok.query_parameters_to_remove ?? [],
    };
  }
  const d = res.denied_response ?? {};
  const code = d.status?.code ?? 0;
  return {
    kind: 'deny',
    // HttpStatus Empty (0) or out of range: Envoy answers 403.
    status: code >= 200 && code <= 599 ? code : 403,
    headers: mutations(d.headers),
    body: d.body ?? '',
  };
}

function mutations(list: HeaderValueOptionMessage[] | undefined): HeaderMutation[] {
  const out: HeaderMutation[] = [];
  for (const o of list ?? []) {
    const key = o.header?.key;
    if (!key) continue;
    const value =
      o.header?.raw_value && o.header.raw_value.length > 0
        ? Buffer.from(o.header.raw_value).toString('latin1')
        : (o.header?.value ?? '');
    out.push({ name: key.toLowerCase(), value, action: actionOf(o) });
  }
  return out;
}

/**
 * The deprecated `append` wins when set (true appends, false overwrites);
 * otherwise `append_action`, whose default is APPEND_IF_EXISTS_OR_ADD.
 */
function actionOf(o: HeaderValueOptionMessage): HeaderAction {
  if (o.append !== undefined && o.append !== null) return o.append.value ? 'append' : 'overwrite_or_add';
  switch (o.append_action ?? APPEND_IF_EXISTS_OR_ADD) {
    case ADD_IF_ABSENT:
      return 'add_if_absent';
    case OVERWRITE_IF_EXISTS_OR_ADD:
      return 'overwrite_or_add';
    case OVERWRITE_IF_EXISTS:
      return 'overwrite_if_exists';
    default:
      return 'append';
  }
}

/**
 * Headers Envoy does not let ext_authz touch: pseudo-headers and Host (the
 * filter's default mutation rules drop such mutations without failing).
 */
function immutable(name: string): boolean {
  return name.startsWith(':') || name === 'host';
}

/** Applies header mutations to `headers` in place, in order. */
export function applyMutations(headers: HeaderList, muts: readonly HeaderMutation[]): void {
  for (const m of muts) {
    if (immutable(m.name)) continue;
    const exists = headers.some(([k]) => k === m.name);
    switch (m.action) {
      case 'append':
        headers.push([m.name, m.value]);
        break;
      case 'add_if_absent':
        if (!exists) headers.push([m.name, m.value]);
        break;
      case 'overwrite_or_add':
        removeAll(headers, m.name);
        headers.push([m.name, m.value]);
        break;
      case 'overwrite_if_exists':
        if (exists) {
          removeAll(headers, m.name);
          headers.push([m.name, m.value]);
        }
        break;
    }
  }
}

export function removeHeaders(headers: HeaderList, names: readonly string[]): void {
  for (const n of names) if (!immutable(n)) removeAll(headers, n);
}

function removeAll(headers: HeaderList, name: string): void {
  for (let i = headers.length - 1; i >= 0; i--) if (headers[i]?.[0] === name) headers.splice(i, 1);
}

/** Applies `query_parameters_to_set` / `_to_remove` to a `:path`. */
export function applyQuery(
  path: string,
  set: readonly (readonly [string, string])[],
  remove: readonly string[],
): string {
  if (set.length === 0 && remove.length === 0) return path;
  const q = path.indexOf('?');
  const base = q < 0 ? path : path.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : path.slice(q + 1));
  for (const k of remove) params.delete(k);
  for (const [k, v] of set) params.set(k, v);
  const s = params.toString();
  return s ? `${base}?${s}` : base;
}
