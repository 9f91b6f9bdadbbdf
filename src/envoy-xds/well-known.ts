// The proto3-JSON spellings of the well-known types that have one
// (https://protobuf.dev/programming-guides/proto3/#json): Duration, Timestamp,
// FieldMask and the scalar wrappers. Pure string <-> number conversions; the
// walker in json-to-message.ts / message-to-json.ts decides where they apply.

/** Largest |seconds| of a Duration (10,000 years), as protobuf defines it. */
const MAX_DURATION_SECONDS = 315_576_000_000n;
/** Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z. */
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;

export interface SecondsNanos {
  /** Decimal string: 64-bit seconds do not fit a JS number in general. */
  readonly seconds: string;
  readonly nanos: number;
}

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** "1.5s" -> {seconds: "1", nanos: 500000000}; "-0.5s" -> {seconds: "0", nanos: -500000000}. */
export function parseDuration(text: string): SecondsNanos {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a Duration (want e.g. "0.25s"): ${JSON.stringify(text)}`);
  const negative = m[1] === '-';
  const seconds = BigInt(m[2] ?? '0');
  if (seconds > MAX_DURATION_SECONDS) throw new Error(`Duration out of range: ${text}`);
  const nanos = Number((m[3] ?? '').padEnd(9, '0') || '0');
  return {
    seconds: (negative && seconds !== 0n ? -seconds : seconds).toString(),
    nanos: negative ? -nanos : nanos,
  };
}

/** Canonical proto3-JSON Duration: 0, 3, 6 or 9 fractional digits. */
export function formatDuration(seconds: string, nanos: number): string {
  const s = BigInt(seconds);
  const negative = s < 0n || nanos < 0;
  const abs = s < 0n ? -s : s;
  return `${negative ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 ("2024-05-01T10:00:00.5Z", offsets allowed) -> seconds/nanos since the epoch. */
export function parseTimestamp(text: string): SecondsNanos {
  const m = TIMESTAMP.exec(text);
  if (!m) throw new Error(`not an RFC 3339 Timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(Number(y), month) || hour > 23) {
    throw new Error(`not a valid date/time: ${JSON.stringify(text)}`);
  }
  if (minute > 59 || second > 59) throw new Error(`not a valid date/time: ${JSON.stringify(text)}`);
  let offsetMinutes = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  const days = BigInt(daysFromCivil(Number(y), month, day));
  const secs = days * 86_400n + BigInt(hour * 3600 + minute * 60 + second - offsetMinutes * 60);
  if (secs < MIN_TIMESTAMP_SECONDS || secs > MAX_TIMESTAMP_SECONDS) {
    throw new Error(`Timestamp out of range: ${text}`);
  }
  return { seconds: secs.toString(), nanos: Number((frac ?? '').padEnd(9, '0') || '0') };
}

/** Canonical proto3-JSON Timestamp: always UTC ("Z"), 0/3/6/9 fractional digits. */
export function formatTimestamp(seconds: string, nanos: number): string {
  const s = BigInt(seconds);
  let days = s / 86_400n;
  let rem = s % 86_400n;
  if (rem < 0n) {
    rem += 86_400n;
    days -= 1n;
  }
  const { y, m, d } = civilFromDays(Number(days));
  const r = Number(rem);
  const hh = Math.floor(r / 3600);
  const mm = Math.floor((r % 3600) / 60);
  const ss = r % 60;
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}${fraction(nanos)}Z`;
}

/** FieldMask JSON: "fooBar.baz,qux" -> ["foo_bar.baz", "qux"]. */
export function parseFieldMask(text: string): string[] {
  if (text === '') return [];
  return text.split(',').map((p) => {
    if (!/^[A-Za-z0-9.]+$/.test(p) || p.includes('_')) {
      throw new Error(`not a FieldMask path (lowerCamelCase, dot-separated): ${JSON.stringify(p)}`);
    }
    return p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  });
}

export function formatFieldMask(paths: readonly string[]): string {
  return paths.map((p) => p.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())).join(',');
}

/** The lowerCamelCase JSON name protoc derives from a snake_case field name. */
export function jsonName(fieldName: string): string {
  return fieldName.replace(/_([a-z0-9])/gi, (_m, c: string) => c.toUpperCase());
}

/** Shortest decimal that reads back as the same float32 (proto3-JSON `float`). */
export function formatFloat32(v: number): number | string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(v.toPrecision(p));
    if (Math.fround(candidate) === v) return candidate;
  }
  return v;
}

export function formatDouble(v: number): number | string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return v;
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1_000_000 === 0) return `.${pad(nanos / 1_000_000, 3)}`;
  if (nanos % 1000 === 0) return `.${pad(nanos / 1000, 6)}`;
  return `.${pad(nanos, 9)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

// Howard Hinnant's civil-calendar algorithms (proleptic Gregorian), exact for
// the whole Timestamp range without Date's millisecond limits.
function daysFromCivil(y0: number, m: number, d: number): number {
  const y = m <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function civilFromDays(z0: number): { y: number; m: number; d: number } {
  const z = z0 + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}
