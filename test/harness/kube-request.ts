// Raw authenticated calls to the test kube-apiserver, for what a typed client
// hides: exact status codes, the Status body of a refusal, apply/patch content
// types. Bodies are sent as JSON (objects) or as given (strings).
import { Agent, request as undiciRequest } from 'undici';

export interface ApiResponse {
  readonly status: number;
  /** Parsed JSON, or the text when the body is not JSON. */
  readonly body: unknown;
}

export interface KubeRequest {
  (method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** `ca` undefined: no certificate verification (only while the serving certificate does not exist yet). */
export function kubeRequest(url: string, token: string, ca: string | undefined): KubeRequest {
  const dispatcher = new Agent({
    connect: ca === undefined ? { rejectUnauthorized: false } : { ca },
  });
  const call = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const res = await undiciRequest(`${url}${path}`, {
      method: method as 'GET',
      dispatcher,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': contentType }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (e.g. /readyz says "ok"): keep the text.
    }
    return { status: res.statusCode, body: parsed };
  };
  return Object.assign(call, { close: () => dispatcher.close() });
}
