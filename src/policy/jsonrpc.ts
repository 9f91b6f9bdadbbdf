// A strict, tolerant-of-truncation reader for JSON-RPC 2.0 request bodies
// (https://www.jsonrpc.org/specification): single messages and batches
// (MCP 2025-03-26 allowed batching), requests, notifications and responses.
//
// It extracts only what authorization needs — `method`, `id`, `params.name`
// and `params.uri` — while validating the whole body as JSON. Why not
// JSON.parse? Two reasons:
// - Duplicate keys: JSON.parse keeps the last, other parsers keep the first.
//   A body with two `method` (or two `params.name`) keys could show the gate
//   one value and the server another, so such bodies are `invalid`.
// - Truncation: Envoy's `allow_partial_message` cuts bodies at
//   `max_request_bytes`. A cut body is reported as `incomplete` — never as a
//   value that a key after the cut could override. `incomplete` carries the
//   values read so far as *hints* (for logs and protocol recognition only).

export interface JsonRpcMessage {
  readonly kind: 'request' | 'notification' | 'response';
  readonly method?: string;
  readonly id?: string | number | null;
  /** `params.name` when it is a string. */
  readonly name?: string;
  /** `params.uri` when it is a string. */
  readonly uri?: string;
  /** `params.name` was present but not a string. */
  readonly nameNotString?: boolean;
}

/** What was read of a message before the cut. Not authoritative. */
export interface JsonRpcHint {
  readonly method?: string;
  readonly name?: string;
  readonly uri?: string;
}

export type JsonRpcInvalidReason =
  | 'empty'
  | 'not_json'
  | 'not_object'
  | 'empty_batch'
  | 'duplicate_key'
  | 'bad_jsonrpc_version'
  | 'bad_method'
  | 'bad_id'
  | 'bad_params'
  | 'not_a_message'
  | 'too_deep'
  | 'bad_utf8'
  | 'trailing_data';

export type JsonRpcRead =
  | { readonly kind: 'ok'; readonly batch: boolean; readonly messages: readonly JsonRpcMessage[] }
  | { readonly kind: 'incomplete'; readonly batch: boolean; readonly seen: readonly JsonRpcHint[] }
  | { readonly kind: 'invalid'; readonly reason: JsonRpcInvalidReason; readonly offset: number };

/** Nesting deeper than this is refused: bounds work and recursion per request. */
export const MAX_JSON_DEPTH = 128;

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const ENCODER = new TextEncoder();

/**
 * Reads a JSON-RPC body. `truncated` says the body was cut (Envoy's partial
 * message); then running out of bytes yields `incomplete`, otherwise `invalid`.
 * Never throws.
 */
export function readJsonRpc(body: Uint8Array | string, truncated = false): JsonRpcRead {
  const data = typeof body === 'string' ? ENCODER.encode(body) : body;
  const s = new Scanner(data, truncated);
  try {
    return s.readTop();
  } catch (e) {
    if (e instanceof Stop) {
      if (e.reason === undefined) return { kind: 'incomplete', batch: s.batch, seen: s.hints() };
      return { kind: 'invalid', reason: e.reason, offset: s.pos };
    }
    // Anything else is a bug in this file; still never a wrong value.
    return { kind: 'invalid', reason: 'not_json', offset: s.pos };
  }
}

/** Control flow for the scanner: `reason` undefined means "ran out of bytes". */
class Stop {
  constructor(readonly reason: JsonRpcInvalidReason | undefined) {}
}

interface Draft {
  method?: string;
  id?: string | number | null;
  hasId: boolean;
  hasJsonrpc: boolean;
  jsonrpcOk: boolean;
  hasParams: boolean;
  hasResult: boolean;
  hasError: boolean;
  name?: string;
  uri?: string;
  hasName: boolean;
  hasUri: boolean;
  nameNotString: boolean;
}

function draft(): Draft {
  return {
    hasId: false,
    hasJsonrpc: false,
    jsonrpcOk: false,
    hasParams: false,
    hasResult: false,
    hasError: false,
    hasName: false,
    hasUri: false,
    nameNotString: false,
  };
}

class Scanner {
  pos = 0;
  batch = false;
  private readonly done: JsonRpcMessage[] = [];
  private current: Draft | undefined;

  constructor(
    private readonly data: Uint8Array,
    private readonly truncated: boolean,
  ) {}

  hints(): JsonRpcHint[] {
    const out: JsonRpcHint[] = this.done.map((m) => ({ method: m.method, name: m.name, uri: m.uri }));
    const c = this.current;
    if (c && (c.method !== undefined || c.name !== undefined || c.uri !== undefined)) {
      out.push({ method: c.method, name: c.name, uri: c.uri });
    }
    return out;
  }

  readTop(): JsonRpcRead {
    this.ws();
    if (this.pos >= this.data.length) {
      if (this.data.length === 0) throw new Stop('empty');
      this.eof();
    }
    const c = this.data[this.pos];
    if (c === 0x7b /* { */) {
      this.done.push(this.message());
    } else if (c === 0x5b /* [ */) {
      this.batch = true;
      this.pos++;
      this.ws();
      if (this.peek() === 0x5d) throw new Stop('empty_batch');
      for (;;) {
        this.ws();
        if (this.peek() !== 0x7b) throw new Stop('not_object');
        this.done.push(this.message());
        this.ws();
        const n = this.peek();
        this.pos++;
        if (n === 0x5d) break;
        if (n !== 0x2c) throw new Stop('not_json');
      }
    } else {
      throw new Stop('not_object');
    }
    this.ws();
    if (this.pos < this.data.length) throw new Stop('trailing_data');
    return { kind: 'ok', batch: this.batch, messages: this.done };
  }

  /** One message object; the cursor is on `{`. */
  private message(): JsonRpcMessage {
    const d = draft();
    this.current = d;
    this.pos++;
    this.ws();
    if (this.peek() === 0x7d) {
      this.pos++;
      throw new Stop('not_a_message');
    }
    for (;;) {
      this.ws();
      if (this.peek() !== 0x22) throw new Stop('not_json');
      const key = this.string();
      this.colon();
      switch (key) {
        case 'jsonrpc': {
          if (d.hasJsonrpc) throw new Stop('duplicate_key');
          d.hasJsonrpc = true;
          if (this.peek() === 0x22) d.jsonrpcOk = this.string() === '2.0';
          else this.skip(1);
          if (!d.jsonrpcOk) throw new Stop('bad_jsonrpc_version');
          break;
        }
        case 'method': {
          if (d.method !== undefined) throw new Stop('duplicate_key');
          if (this.peek() !== 0x22) throw new Stop('bad_method');
          d.method = this.string();
          break;
        }
        case 'id': {
          if (d.hasId) throw new Stop('duplicate_key');
          d.id = this.idValue();
          d.hasId = true;
          break;
        }
        case 'params': {
          if (d.hasParams) throw new Stop('duplicate_key');
          d.hasParams = true;
          const p = this.peek();
          if (p === 0x7b) this.params(d);
          else if (p === 0x5b) this.skip(1);
          else throw new Stop('bad_params');
          break;
        }
        case 'result':
        case 'error': {
          const has = key === 'result' ? d.hasResult : d.hasError;
          if (has) throw new Stop('duplicate_key');
          if (key === 'result') d.hasResult = true;
          else d.hasError = true;
          this.skip(1);
          break;
        }
        default:
          this.skip(1);
      }
      this.ws();
      const n = this.peek();
      this.pos++;
      if (n === 0x7d) break;
      if (n !== 0x2c) throw new Stop('not_json');
    }
    this.current = undefined;
    return finish(d);
  }

  /** `params` object: tracks `name` and `uri`; the cursor is on `{`. */
  private params(d: Draft): void {
    this.pos++;
    this.ws();
    if (this.peek() === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.peek() !== 0x22) throw new Stop('not_json');
      const key = this.string();
      this.colon();
      if (key === 'name' || key === 'uri') {
        if (key === 'name' ? d.hasName : d.hasUri) throw new Stop('duplicate_key');
        if (key === 'name') d.hasName = true;
        else d.hasUri = true;
        if (this.peek() === 0x22) {
          const v = this.string();
          if (key === 'name') d.name = v;
          else d.uri = v;
        } else {
          if (key === 'name') d.nameNotString = true;
          this.skip(2);
        }
      } else {
        this.skip(2);
      }
      this.ws();
      const n = this.peek();
      this.pos++;
      if (n === 0x7d) return;
      if (n !== 0x2c) throw new Stop('not_json');
    }
  }

  private idValue(): string | number | null {
    const c = this.peek();
    if (c === 0x22) return this.string();
    if (c === 0x6e /* n */) {
      this.literal('null');
      return null;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = this.pos;
      this.number();
      return Number(this.utf8(start, this.pos));
    }
    throw new Stop('bad_id');
  }

  /** Validates and skips any JSON value. */
  private skip(depth: number): void {
    if (depth > MAX_JSON_DEPTH) throw new Stop('too_deep');
    this.ws();
    const c = this.peek();
    if (c === 0x22) {
      this.skipString();
    } else if (c === 0x7b) {
      this.pos++;
      this.ws();
      if (this.peek() === 0x7d) {
        this.pos++;
        return;
      }
      for (;;) {
        this.ws();
        if (this.peek() !== 0x22) throw new Stop('not_json');
        this.skipString();
        this.colon();
        this.skip(depth + 1);
        this.ws();
        const n = this.peek();
        this.pos++;
        if (n === 0x7d) return;
        if (n !== 0x2c) throw new Stop('not_json');
      }
    } else if (c === 0x5b) {
      this.pos++;
      this.ws();
      if (this.peek() === 0x5d) {
        this.pos++;
        return;
      }
      for (;;) {
        this.skip(depth + 1);
        this.ws();
        const n = this.peek();
        this.pos++;
        if (n === 0x5d) return;
        if (n !== 0x2c) throw new Stop('not_json');
      }
    } else if (c === 0x74) {
      this.literal('true');
    } else if (c === 0x66) {
      this.literal('false');
    } else if (c === 0x6e) {
      this.literal('null');
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.number();
    } else {
      throw new Stop('not_json');
    }
  }

  /** Decodes a string; the cursor is on the opening quote. */
  private string(): string {
    const d = this.data;
    let i = this.pos + 1;
    let out = '';
    let run = i;
    for (;;) {
      if (i >= d.length) this.eofAt(i);
      const c = d[i] as number;
      if (c === 0x22) {
        out += this.utf8(run, i);
        this.pos = i + 1;
        return out;
      }
      if (c < 0x20) throw new Stop('not_json');
      if (c === 0x5c) {
        out += this.utf8(run, i);
        if (i + 1 >= d.length) this.eofAt(i + 1);
        const e = d[i + 1];
        i += 2;
        switch (e) {
          case 0x22:
            out += '"';
            break;
          case 0x5c:
            out += '\\';
            break;
          case 0x2f:
            out += '/';
            break;
          case 0x62:
            out += '\b';
            break;
          case 0x66:
            out += '\f';
            break;
          case 0x6e:
            out += '\n';
            break;
          case 0x72:
            out += '\r';
            break;
          case 0x74:
            out += '\t';
            break;
          case 0x75: {
            let code = 0;
            for (let k = 0; k < 4; k++) {
              if (i + k >= d.length) this.eofAt(i + k);
              const h = hex(d[i + k] as number);
              if (h < 0) throw new Stop('not_json');
              code = (code << 4) | h;
            }
            i += 4;
            out += String.fromCharCode(code);
            break;
          }
          default:
            throw new Stop('not_json');
        }
        run = i;
        continue;
      }
      i++;
    }
  }

  /** Skips a string without decoding it; the cursor is on the opening quote. */
  private skipString(): void {
    const d = this.data;
    let i = this.pos + 1;
    for (;;) {
      if (i >= d.length) this.eofAt(i);
      const c = d[i] as number;
      if (c === 0x22) {
        this.pos = i + 1;
        return;
      }
      if (c < 0x20) throw new Stop('not_json');
      if (c === 0x5c) {
        if (i + 1 >= d.length) this.eofAt(i + 1);
        const e = d[i + 1] as number;
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            if (i + k >= d.length) this.eofAt(i + k);
            if (hex(d[i + k] as number) < 0) throw new Stop('not_json');
          }
          i += 6;
          continue;
        }
        if (!isSimpleEscape(e)) throw new Stop('not_json');
        i += 2;
        continue;
      }
      i++;
    }
  }

  private utf8(from: number, to: number): string {
    if (from >= to) return '';
    const d = this.data;
    let ascii = true;
    for (let i = from; i < to; i++) {
      if ((d[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    // Short ASCII runs (keys, method names) skip the decoder; long runs use it
    // so that no argument list grows with the input.
    if (ascii && to - from <= 64) return String.fromCharCode(...d.subarray(from, to));
    try {
      return UTF8.decode(d.subarray(from, to));
    } catch {
      throw new Stop('bad_utf8');
    }
  }

  /** JSON number grammar (RFC 8259 §6). */
  private number(): void {
    const d = this.data;
    let i = this.pos;
    if (d[i] === 0x2d) i++;
    if (i >= d.length) this.eofAt(i);
    if (d[i] === 0x30) {
      i++;
    } else if (isDigit(d[i])) {
      while (i < d.length && isDigit(d[i])) i++;
    } else {
      throw new Stop('not_json');
    }
    if (i < d.length && d[i] === 0x2e) {
      i++;
      if (i >= d.length) this.eofAt(i);
      if (!isDigit(d[i])) throw new Stop('not_json');
      while (i < d.length && isDigit(d[i])) i++;
    }
    if (i < d.length && (d[i] === 0x65 || d[i] === 0x45)) {
      i++;
      if (i < d.length && (d[i] === 0x2b || d[i] === 0x2d)) i++;
      if (i >= d.length) this.eofAt(i);
      if (!isDigit(d[i])) throw new Stop('not_json');
      while (i < d.length && isDigit(d[i])) i++;
    }
    // A number running into the cut may have had more digits.
    if (i >= d.length) this.eofAt(i);
    this.pos = i;
  }

  private literal(word: string): void {
    for (let k = 0; k < word.length; k++) {
      const i = this.pos + k;
      if (i >= this.data.length) this.eofAt(i);
      if (this.data[i] !== word.charCodeAt(k)) throw new Stop('not_json');
    }
    this.pos += word.length;
  }

  private colon(): void {
    this.ws();
    if (this.peek() !== 0x3a) throw new Stop('not_json');
    this.pos++;
    this.ws();
  }

  private ws(): void {
    const d = this.data;
    let i = this.pos;
    while (i < d.length) {
      const c = d[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.pos = i;
  }

  private peek(): number {
    if (this.pos >= this.data.length) this.eof();
    return this.data[this.pos] as number;
  }

  private eof(): never {
    throw new Stop(this.truncated ? undefined : 'not_json');
  }

  private eofAt(i: number): never {
    this.pos = i;
    this.eof();
  }
}

function finish(d: Draft): JsonRpcMessage {
  if (!d.hasJsonrpc) throw new Stop('bad_jsonrpc_version');
  if (d.method !== undefined) {
    if (d.hasResult || d.hasError) throw new Stop('not_a_message');
    return {
      kind: d.hasId ? 'request' : 'notification',
      method: d.method,
      id: d.hasId ? d.id : undefined,
      name: d.name,
      uri: d.uri,
      nameNotString: d.nameNotString || undefined,
    };
  }
  // A response: an id and exactly one of result / error (JSON-RPC 2.0 §5).
  if (!d.hasId || d.hasResult === d.hasError || d.hasParams) throw new Stop('not_a_message');
  return { kind: 'response', id: d.id };
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isSimpleEscape(e: number): boolean {
  return (
    e === 0x22 ||
    e === 0x5c ||
    e === 0x2f ||
    e === 0x62 ||
    e === 0x66 ||
    e === 0x6e ||
    e === 0x72 ||
    e === 0x74
  );
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
