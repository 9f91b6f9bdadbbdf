// W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
//   version "-" trace-id "-" parent-id "-" trace-flags
// Lower-case hex only; all-zero trace-id / parent-id are invalid; version
// `ff` is invalid. Version 00 has exactly four parts (55 characters). A
// higher version may append fields after a further "-" (§3.2.4 "Versioning
// of traceparent"); we read its first four fields the same way.
// The CASA trace id is the 32-hex trace-id.

export interface TraceContext {
  readonly version: string;
  /** 32 lower-case hex characters, not all zero. */
  readonly traceId: string;
  /** 16 lower-case hex characters, not all zero. */
  readonly parentId: string;
  /** 2 lower-case hex characters. */
  readonly flags: string;
}

export type TraceparentResult =
  | { readonly ok: true; readonly context: TraceContext }
  | { readonly ok: false; readonly reason: string };

const V00_LENGTH = 55;

export function parseTraceparent(value: string): TraceparentResult {
  if (value.length < V00_LENGTH) return bad('too short');
  const version = value.slice(0, 2);
  if (!isLowerHex(version, 0, 2)) return bad('version is not lower-case hex');
  if (version === 'ff') return bad('version ff is invalid');
  if (value.charCodeAt(2) !== 0x2d || value.charCodeAt(35) !== 0x2d || value.charCodeAt(52) !== 0x2d) {
    return bad('fields are not separated by "-"');
  }
  if (version === '00') {
    if (value.length !== V00_LENGTH) return bad('version 00 has exactly four fields');
  } else if (value.length > V00_LENGTH && value.charCodeAt(V00_LENGTH) !== 0x2d) {
    return bad('trailing data without "-"');
  }
  if (!isLowerHex(value, 3, 35)) return bad('trace-id is not 32 lower-case hex characters');
  if (!isLowerHex(value, 36, 52)) return bad('parent-id is not 16 lower-case hex characters');
  if (!isLowerHex(value, 53, 55)) return bad('trace-flags is not 2 lower-case hex characters');
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  if (isZero(traceId)) return bad('trace-id is all zero');
  if (isZero(parentId)) return bad('parent-id is all zero');
  return { ok: true, context: { version, traceId, parentId, flags: value.slice(53, 55) } };
}

/** Formats a version-00 `traceparent`. Throws on ids that would not parse back. */
export function formatTraceparent(ctx: { traceId: string; parentId: string; flags?: string }): string {
  const value = `00-${ctx.traceId}-${ctx.parentId}-${ctx.flags ?? '01'}`;
  const check = parseTraceparent(value);
  if (!check.ok) throw new RangeError(`cannot format traceparent: ${check.reason}`);
  return value;
}

/** True for a valid 32-hex W3C trace-id (lower-case, not all zero). */
export function isTraceId(v: string): boolean {
  return v.length === 32 && isLowerHex(v, 0, 32) && !isZero(v);
}

/** True for a valid 16-hex W3C parent-id / span-id (lower-case, not all zero). */
export function isSpanId(v: string): boolean {
  return v.length === 16 && isLowerHex(v, 0, 16) && !isZero(v);
}

function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function isZero(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 0x30) return false;
  return true;
}

function bad(reason: string): TraceparentResult {
  return { ok: false, reason };
}
