// How an example app sends its outbound traffic: through its egress listener
// of the dev data plane, as an ordinary HTTP forward proxy (absolute-form
// request line, no CONNECT tunnel), the way an app behind a node proxy would.
// The SDKs take a `fetch`; this one goes through the proxy.
import { ProxyAgent, fetch as undiciFetch } from 'undici';

export interface EgressFetch {
  readonly fetch: typeof fetch;
  close(): Promise<void>;
}

/** `extraHeaders` runs per request (e.g. a W3C traceparent with a fresh span id). */
export function egressFetch(proxyUrl: string, extraHeaders?: () => Record<string, string>): EgressFetch {
  const dispatcher = new ProxyAgent({ uri: proxyUrl, proxyTunnel: false });
  const f = (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    for (const [k, v] of new Headers(init?.headers)) headers.set(k, v);
    for (const [k, v] of Object.entries(extraHeaders?.() ?? {})) headers.set(k, v);
    const body = init?.body ?? (input instanceof Request ? input.body : undefined);
    return undiciFetch(url, {
      method: init?.method ?? (input instanceof Request ? input.method : 'GET'),
      headers: [...headers],
      body: body as never,
      signal: init?.signal ?? undefined,
      dispatcher,
      ...(body instanceof ReadableStream ? { duplex: 'half' as const } : {}),
    }) as unknown as Promise<Response>;
  };
  return {
    fetch: f as typeof fetch,
    close: () => dispatcher.close(),
  };
}
