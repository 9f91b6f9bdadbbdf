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

import { JsonCursor, JsonStop } from './json-cursor.js';

export { MAX_JSON_DEPTH } from './json-cursor.js';

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
    if (e instanceof JsonStop) {
      if (e.reason === undefined) return { kind: 'incomplete', batch: s.batch, seen: s.hints() };
      return { kind: 'invalid', reason: e.reason as JsonRpcInvalidReason, offset: s.pos };
    }
    // Anything else is a bug in this file; still never a wrong value.
    return { kind: 'invalid', reason: 'not_json', offset: s.pos };
  }
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

/** The JSON-RPC layer over the JSON cursor: message shapes, tracked keys, hints. */
class Scanner extends JsonCursor {
  batch = false;
  private readonly done: JsonRpcMessage[] = [];
  private current: Draft | undefined;

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
      if (this.data.length === 0) throw new JsonStop('empty');
      this.eof();
    }
    const c = this.data[this.pos];
    if (c === 0x7b /* { */) {
      this.done.push(this.message());
    } else if (c === 0x5b /* [ */) {
      this.batch = true;
      this.pos++;
      this.ws();
      if (this.peek() === 0x5d) throw new JsonStop('empty_batch');
      for (;;) {
        this.ws();
        if (this.peek() !== 0x7b) throw new JsonStop('not_object');
        this.done.push(this.message());
        this.ws();
        const n = this.peek();
        this.pos++;
        if (n === 0x5d) break;
        if (n !== 0x2c) throw new JsonStop('not_json');
      }
    } else {
      throw new JsonStop('not_object');
    }
    this.ws();
    if (this.pos < this.data.length) throw new JsonStop('trailing_data');
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
      throw new JsonStop('not_a_message');
    }
    for (;;) {
      this.ws();
      if (this.peek() !== 0x22) throw new JsonStop('not_json');
      const key = this.string();
      this.colon();
      switch (key) {
        case 'jsonrpc': {
          if (d.hasJsonrpc) throw new JsonStop('duplicate_key');
          d.hasJsonrpc = true;
          if (this.peek() === 0x22) d.jsonrpcOk = this.string() === '2.0';
          else this.skip(1);
          if (!d.jsonrpcOk) throw new JsonStop('bad_jsonrpc_version');
          break;
        }
        case 'method': {
          if (d.method !== undefined) throw new JsonStop('duplicate_key');
          if (this.peek() !== 0x22) throw new JsonStop('bad_method');
          d.method = this.string();
          break;
        }
        case 'id': {
          if (d.hasId) throw new JsonStop('duplicate_key');
          d.id = this.idValue();
          d.hasId = true;
          break;
        }
        case 'params': {
          if (d.hasParams) throw new JsonStop('duplicate_key');
          d.hasParams = true;
          const p = this.peek();
          if (p === 0x7b) this.params(d);
          else if (p === 0x5b) this.skip(1);
          else throw new JsonStop('bad_params');
          break;
        }
        case 'result':
        case 'error': {
          const has = key === 'result' ? d.hasResult : d.hasError;
          if (has) throw new JsonStop('duplicate_key');
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
      if (n !== 0x2c) throw new JsonStop('not_json');
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
      if (this.peek() !== 0x22) throw new JsonStop('not_json');
      const key = this.string();
      this.colon();
      if (key === 'name' || key === 'uri') {
        if (key === 'name' ? d.hasName : d.hasUri) throw new JsonStop('duplicate_key');
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
      if (n !== 0x2c) throw new JsonStop('not_json');
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
    throw new JsonStop('bad_id');
  }
}

function finish(d: Draft): JsonRpcMessage {
  if (!d.hasJsonrpc) throw new JsonStop('bad_jsonrpc_version');
  if (d.method !== undefined) {
    if (d.hasResult || d.hasError) throw new JsonStop('not_a_message');
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
  if (!d.hasId || d.hasResult === d.hasError || d.hasParams) throw new JsonStop('not_a_message');
  return { kind: 'response', id: d.id };
}
