// Path normalization for the protocol gate: every spelling of a path that a
// server could route to the same handler must normalize to the same string,
// and anything a server could read in more than one way is rejected.
//
// Decisions (documented in README.md):
// - Query (`?`) and fragment (`#`) are cut first (RFC 3986 §3.4, §3.5).
// - Percent-encoding is decoded exactly once, including `%2F` (→ `/`, so an
//   encoded slash separates segments like a plain one) and `%2E` (→ `.`, so
//   `%2E%2E` is a dot-segment) — RFC 3986 §2.3/§6.2.2.2.
// - Double encoding is rejected: if the once-decoded path still contains
//   `%XX`, a server that decodes twice would see something else.
// - Invalid `%` escapes, bytes that are not UTF-8, control characters (C0, DEL,
//   C1) and backslashes (raw or decoded; some servers treat `\` as `/`) are
//   rejected with an explicit reason.
// - Dot-segments are removed (RFC 3986 §5.2.4), empty segments (`//`) and the
//   trailing slash are dropped; `..` above the root stays at the root.
// - The result is re-encodable: `%`, `?`, `#` are re-escaped, so normalizing
//   a normalized path returns it unchanged (idempotence).
// - `key` is the lower-cased path used for matching (case rules: patterns
//   match case-insensitively; `path` keeps the original case for display).

export type PathInvalidReason =
  | 'not_origin_form'
  | 'too_long'
  | 'bad_percent_encoding'
  | 'double_encoding'
  | 'bad_utf8'
  | 'control_char'
  | 'backslash';

export type NormalizedPath =
  | {
      readonly ok: true;
      readonly path: string;
      readonly key: string;
      /**
       * A `.` or `..` segment (plain or percent-encoded) was resolved. Servers
       * disagree on those (express routes `/admin/../mcp` to `/admin/*`), so the
       * gate refuses such a path rather than trust its own reading.
       */
      readonly dotSegments?: true;
    }
  | { readonly ok: false; readonly reason: PathInvalidReason };

/** Longer raw paths are rejected: a bound on the work done per request. */
export const MAX_PATH_LENGTH = 8192;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function normalizePath(raw: string): NormalizedPath {
  if (raw.length > MAX_PATH_LENGTH) return invalid('too_long');
  let end = raw.length;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x3f /* ? */ || c === 0x23 /* # */) {
      end = i;
      break;
    }
  }
  if (end === 0 || raw.charCodeAt(0) !== 0x2f) return invalid('not_origin_form');

  // Fast path: nothing to decode or collapse — the common case for real traffic.
  let clean = true;
  for (let i = 0; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 || c === 0x5c || c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) {
      clean = false;
      break;
    }
    if (c === 0x2f && i + 1 < end) {
      const n = raw.charCodeAt(i + 1);
      if (n === 0x2f || n === 0x2e) {
        clean = false;
        break;
      }
    }
  }
  if (clean) {
    let p = end === raw.length ? raw : raw.slice(0, end);
    if (p.length > 1 && p.charCodeAt(p.length - 1) === 0x2f) p = p.slice(0, -1);
    return { ok: true, path: p, key: p.toLowerCase() };
  }
  return slowPath(raw, end);
}

function slowPath(raw: string, end: number): NormalizedPath {
  const decoded = decode(raw, end);
  if (typeof decoded !== 'string') return decoded;
  // Segment walk = RFC 3986 §5.2.4 remove_dot_segments on an absolute path,
  // plus collapsing empty segments and dropping the trailing slash.
  const out: string[] = [];
  let dots = false;
  let start = 1;
  for (let i = 1; i <= decoded.length; i++) {
    if (i < decoded.length && decoded.charCodeAt(i) !== 0x2f) continue;
    const seg = decoded.slice(start, i);
    start = i + 1;
    if (seg === '') continue;
    if (seg === '.' || seg === '..') {
      dots = true;
      if (seg === '..') out.pop();
      continue;
    }
    out.push(reencode(seg));
  }
  const path = `/${out.join('/')}`;
  return dots
    ? { ok: true, path, key: path.toLowerCase(), dotSegments: true }
    : { ok: true, path, key: path.toLowerCase() };
}

/** Decodes `%XX` once and validates every character; returns the text or a failure. */
function decode(raw: string, end: number): string | NormalizedPath {
  let text = '';
  let bytes: number[] | undefined;
  let runStart = 0;
  for (let i = 0; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (i + 2 >= end || hi < 0 || lo < 0) return invalid('bad_percent_encoding');
      if (runStart < i) {
        const flushed = flushBytes(bytes);
        if (flushed === undefined) return invalid('bad_utf8');
        text += flushed + raw.slice(runStart, i);
        bytes = undefined;
      }
      if (bytes === undefined) bytes = [];
      bytes.push((hi << 4) | lo);
      i += 2;
      runStart = i + 1;
      continue;
    }
    if (c === 0x5c) return invalid('backslash');
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) return invalid('control_char');
  }
  const flushed = flushBytes(bytes);
  if (flushed === undefined) return invalid('bad_utf8');
  text += flushed + raw.slice(runStart, end);

  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) return invalid('backslash');
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) return invalid('control_char');
    if (c === 0x25 && hexValue(text.charCodeAt(i + 1)) >= 0 && hexValue(text.charCodeAt(i + 2)) >= 0) {
      return invalid('double_encoding');
    }
  }
  return text;
}

function flushBytes(bytes: number[] | undefined): string | undefined {
  if (bytes === undefined) return '';
  let ascii = true;
  for (const b of bytes) if (b >= 0x80) ascii = false;
  if (ascii) return String.fromCharCode(...bytes);
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/** Re-escape the characters that would change meaning when parsed again. */
function reencode(seg: string): string {
  if (!/[%?#]/.test(seg)) return seg;
  return seg.replace(/[%?#]/g, (ch) => (ch === '%' ? '%25' : ch === '?' ? '%3F' : '%23'));
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function invalid(reason: PathInvalidReason): NormalizedPath {
  return { ok: false, reason };
}
