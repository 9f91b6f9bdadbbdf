// Request bodies in, JSON out, for the reference runtime. Error bodies follow
// FastAPI's shapes (422 `{"detail":[…]}`, `{"detail":"…"}`) where the shipped
// runtime uses them, and RFC 6749 §5.2 `{"error":…}` where it refuses a grant.
import type { IncomingMessage, ServerResponse } from 'node:http';

export const MAX_REQUEST_BYTES = 1024 * 1024;

export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_REQUEST_BYTES) throw new BodyTooLarge();
    chunks.push(b);
  }
  return Buffer.concat(chunks, size);
}

export function sendJson(res: ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** FastAPI's validation error for missing or invalid fields. */
export function validationError(
  fields: readonly { readonly loc: string; readonly msg: string; readonly type?: string }[],
): Reply {
  return {
    status: 422,
    body: {
      detail: fields.map((f) => ({
        type: f.type ?? 'missing',
        loc: ['body', f.loc],
        msg: f.msg,
        input: null,
      })),
    },
  };
}

export function detail(status: number, message: string): Reply {
  return { status, body: { detail: message } };
}

/** RFC 6749 §5.2 error response. */
export function oauthError(status: number, error: string, description?: string): Reply {
  return { status, body: description ? { error, error_description: description } : { error } };
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/** The form of an application/x-www-form-urlencoded request, or a 422. */
export function formOf(req: IncomingMessage, body: Buffer): URLSearchParams | Reply {
  if (mediaType(req) !== 'application/x-www-form-urlencoded') {
    return validationError([{ loc: 'content-type', msg: 'expected a form body', type: 'value_error' }]);
  }
  return new URLSearchParams(body.toString('utf8'));
}

/** The JSON object of an application/json request, or a 422. */
export function jsonOf(req: IncomingMessage, body: Buffer): Record<string, unknown> | Reply {
  if (mediaType(req) !== 'application/json') {
    return validationError([{ loc: 'content-type', msg: 'expected a JSON body', type: 'value_error' }]);
  }
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // falls through
  }
  return validationError([{ loc: 'body', msg: 'JSON decode error', type: 'json_invalid' }]);
}

export function isReply(v: unknown): v is Reply {
  return (
    typeof v === 'object' && v !== null && 'status' in v && 'body' in v && !(v instanceof URLSearchParams)
  );
}
