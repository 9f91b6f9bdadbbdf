// What a runtime response means: a 2xx JSON body, or the RuntimeError it
// stands for. 5xx, 1xx/3xx (redirects are not followed), non-JSON and
// unparsable bodies are 'bad_response'; a 4xx with a JSON body is a
// deliberate refusal ('rejected') and carries the runtime's reason code when
// it gave one. Bodies are never quoted in messages: they may echo a token.
import { RuntimeError } from './runtime-client.js';
import type { RuntimeResponse } from './runtime-transport.js';

const JSON_MEDIA = /^application\/(?:[a-z0-9.+-]+\+)?json$/;

// A reason code looks like an identifier (`invalid_grant`, `tool_intent_mismatch`);
// anything else (sentences, tokens) is not repeated.
const REASON_CODE = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

export function isJsonMedia(mediaType: string | undefined): boolean {
  return mediaType !== undefined && JSON_MEDIA.test(mediaType);
}

/** The parsed JSON body of a 2xx response; any other response throws its RuntimeError. */
export function successJson(res: RuntimeResponse, op: string): unknown {
  if (res.status >= 200 && res.status < 300) return jsonBody(res, op);
  throw refusal(res, op);
}

/** The RuntimeError a non-2xx response stands for. */
export function refusal(res: RuntimeResponse, op: string): RuntimeError {
  const { status } = res;
  if (status >= 400 && status < 500) {
    let body: unknown;
    try {
      body = jsonBody(res, op);
    } catch (e) {
      if (e instanceof RuntimeError) {
        return new RuntimeError('bad_response', `runtime ${op}: HTTP ${status} without a JSON body`, status);
      }
      throw e;
    }
    const reason = reasonCode(body);
    const why = reason ? ` (${reason})` : '';
    return new RuntimeError('rejected', `runtime ${op}: refused with HTTP ${status}${why}`, status, reason);
  }
  if (status >= 500) return new RuntimeError('bad_response', `runtime ${op}: HTTP ${status}`, status);
  return new RuntimeError('bad_response', `runtime ${op}: unexpected HTTP ${status}`, status);
}

export function jsonBody(res: RuntimeResponse, op: string): unknown {
  if (!isJsonMedia(res.mediaType)) {
    const got = res.mediaType ? `"${res.mediaType}"` : 'no content type';
    throw new RuntimeError('bad_response', `runtime ${op}: expected a JSON body, got ${got}`, res.status);
  }
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new RuntimeError(
      'bad_response',
      `runtime ${op}: body is not valid JSON (${res.body.length} bytes; truncated?)`,
      res.status,
    );
  }
}

/**
 * The runtime's reason code: OAuth's `error` (RFC 6749 §5.2), else a
 * FastAPI-style `detail` that is itself a code or an object with `error` /
 * `reason`, else a top-level `reason`.
 */
export function reasonCode(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const detail = body.detail;
  const candidates = [
    body.error,
    detail,
    isObject(detail) ? detail.error : undefined,
    isObject(detail) ? detail.reason : undefined,
    body.reason,
  ];
  for (const c of candidates) {
    if (typeof c === 'string' && REASON_CODE.test(c)) return c;
  }
  return undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
