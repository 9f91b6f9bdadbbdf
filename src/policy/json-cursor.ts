// A cursor over JSON bytes (RFC 8259) that validates as it goes, decodes only
// the strings asked for, and knows the difference between "malformed" and
// "ran out of bytes" (a body Envoy cut). The JSON-RPC reader builds on it.

/** Nesting deeper than this is refused: bounds work and recursion per request. */
export const MAX_JSON_DEPTH = 128;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Control flow of a scan: `reason` undefined means "ran out of bytes" (only when truncated). */
export class JsonStop {
  constructor(readonly reason: string | undefined) {}
}

export class JsonCursor {
  pos = 0;

  constructor(
    protected readonly data: Uint8Array,
    protected readonly truncated: boolean,
  ) {}

  /** Validates and skips any JSON value. */
  protected skip(depth: number): void {
    if (depth > MAX_JSON_DEPTH) throw new JsonStop('too_deep');
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
        if (this.peek() !== 0x22) throw new JsonStop('not_json');
        this.skipString();
        this.colon();
        this.skip(depth + 1);
        this.ws();
        const n = this.peek();
        this.pos++;
        if (n === 0x7d) return;
        if (n !== 0x2c) throw new JsonStop('not_json');
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
        if (n !== 0x2c) throw new JsonStop('not_json');
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
      throw new JsonStop('not_json');
    }
  }

  /** Decodes a string; the cursor is on the opening quote. */
  protected string(): string {
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
      if (c < 0x20) throw new JsonStop('not_json');
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
              if (h < 0) throw new JsonStop('not_json');
              code = (code << 4) | h;
            }
            i += 4;
            out += String.fromCharCode(code);
            break;
          }
          default:
            throw new JsonStop('not_json');
        }
        run = i;
        continue;
      }
      i++;
    }
  }

  /** Skips a string without decoding it; the cursor is on the opening quote. */
  protected skipString(): void {
    const d = this.data;
    const n = d.length;
    let i = this.pos + 1;
    for (;;) {
      // Tight run over plain bytes: the hot loop for large argument blobs.
      let c = 0;
      while (i < n) {
        c = d[i] as number;
        if (c === 0x22 || c === 0x5c || c < 0x20) break;
        i++;
      }
      if (i >= n) this.eofAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return;
      }
      if (c < 0x20) throw new JsonStop('not_json');
      {
        if (i + 1 >= d.length) this.eofAt(i + 1);
        const e = d[i + 1] as number;
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            if (i + k >= d.length) this.eofAt(i + k);
            if (hex(d[i + k] as number) < 0) throw new JsonStop('not_json');
          }
          i += 6;
          continue;
        }
        if (!isSimpleEscape(e)) throw new JsonStop('not_json');
        i += 2;
      }
    }
  }

  protected utf8(from: number, to: number): string {
    if (from >= to) return '';
    const d = this.data;
    // Short ASCII runs (keys, method names, tool names) are built in place:
    // cheaper than a decoder call or a spread over a subarray.
    if (to - from <= 64) {
      let out = '';
      let i = from;
      for (; i < to; i++) {
        const c = d[i] as number;
        if (c >= 0x80) break;
        out += String.fromCharCode(c);
      }
      if (i === to) return out;
    }
    try {
      return UTF8.decode(d.subarray(from, to));
    } catch {
      throw new JsonStop('bad_utf8');
    }
  }

  /** JSON number grammar (RFC 8259 §6). */
  protected number(): void {
    const d = this.data;
    let i = this.pos;
    if (d[i] === 0x2d) i++;
    if (i >= d.length) this.eofAt(i);
    if (d[i] === 0x30) {
      i++;
    } else if (isDigit(d[i])) {
      while (i < d.length && isDigit(d[i])) i++;
    } else {
      throw new JsonStop('not_json');
    }
    if (i < d.length && d[i] === 0x2e) {
      i++;
      if (i >= d.length) this.eofAt(i);
      if (!isDigit(d[i])) throw new JsonStop('not_json');
      while (i < d.length && isDigit(d[i])) i++;
    }
    if (i < d.length && (d[i] === 0x65 || d[i] === 0x45)) {
      i++;
      if (i < d.length && (d[i] === 0x2b || d[i] === 0x2d)) i++;
      if (i >= d.length) this.eofAt(i);
      if (!isDigit(d[i])) throw new JsonStop('not_json');
      while (i < d.length && isDigit(d[i])) i++;
    }
    // A number running into the cut may have had more digits.
    if (i >= d.length) this.eofAt(i);
    this.pos = i;
  }

  protected literal(word: string): void {
    for (let k = 0; k < word.length; k++) {
      const i = this.pos + k;
      if (i >= this.data.length) this.eofAt(i);
      if (this.data[i] !== word.charCodeAt(k)) throw new JsonStop('not_json');
    }
    this.pos += word.length;
  }

  protected colon(): void {
    this.ws();
    if (this.peek() !== 0x3a) throw new JsonStop('not_json');
    this.pos++;
    this.ws();
  }

  protected ws(): void {
    const d = this.data;
    let i = this.pos;
    while (i < d.length) {
      const c = d[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.pos = i;
  }

  protected peek(): number {
    if (this.pos >= this.data.length) this.eof();
    return this.data[this.pos] as number;
  }

  protected eof(): never {
    throw new JsonStop(this.truncated ? undefined : 'not_json');
  }

  protected eofAt(i: number): never {
    this.pos = i;
    this.eof();
  }
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
