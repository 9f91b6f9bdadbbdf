// The two calls a reflector needs from the Kubernetes API — a paginated list
// and a watch stream — over @kubernetes/client-node's KubeConfig, which owns
// authentication (in-cluster token refresh, exec plugins, client certs) and TLS.
// Lists and watches both hand back the raw JSON objects, so the one decoder
// (objects.ts) sees the same shapes from both; the generated typed clients
// would turn timestamps into Dates and drop fields the watch keeps.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { type KubeConfig, Watch } from '@kubernetes/client-node';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface ListResult {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchHandle {
  /** Resolves when the stream ends normally (e.g. the server's timeoutSeconds); rejects on failure. */
  readonly done: Promise<void>;
  /** Resolves once the server accepted the watch (response headers received); never rejects. */
  readonly connected: Promise<void>;
  abort(): void;
}

export interface KubeApi {
  list(path: string, query: Query, signal?: AbortSignal): Promise<ListResult>;
  watch(path: string, query: Query, onEvent: (type: WatchEventType, object: unknown) => void): WatchHandle;
}

/** An HTTP error from the apiserver (the status code decides between relist and backoff). */
export class KubeStatusError extends Error {
  override name = 'KubeStatusError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function statusCodeOf(err: unknown): number | undefined {
  if (err instanceof KubeStatusError) return err.statusCode;
  if (typeof err === 'object' && err !== null) {
    const o = err as { statusCode?: unknown; code?: unknown };
    if (typeof o.statusCode === 'number') return o.statusCode;
    if (typeof o.code === 'number') return o.code;
  }
  return undefined;
}

/** One list page can be large (500 pods); a runaway response must not exhaust memory. */
const MAX_LIST_BYTES = 256 * 1024 * 1024;

function withQuery(base: string, path: string, query: Query): URL {
  const url = new URL(base.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

export class KubeConfigApi implements KubeApi {
  private readonly watcher: Watch;

  constructor(
    private readonly kc: KubeConfig,
    private readonly pageSize = 500,
  ) {
    this.watcher = new Watch(kc);
  }

  private server(): string {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return cluster.server;
  }

  async list(path: string, query: Query, signal?: AbortSignal): Promise<ListResult> {
    const items: unknown[] = [];
    let resourceVersion = '';
    let cont: string | undefined;
    do {
      const page = await this.get(
        withQuery(this.server(), path, { ...query, limit: this.pageSize, continue: cont }),
        signal,
      );
      const meta = (page.metadata ?? {}) as { resourceVersion?: unknown; continue?: unknown };
      if (!Array.isArray(page.items)) throw new Error(`GET ${path}: response has no items list`);
      items.push(...page.items);
      // Every page of one list is served at the first page's resourceVersion.
      if (!resourceVersion && typeof meta.resourceVersion === 'string')
        resourceVersion = meta.resourceVersion;
      cont = typeof meta.continue === 'string' && meta.continue !== '' ? meta.continue : undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  watch(path: string, query: Query, onEvent: (type: WatchEventType, object: unknown) => void): WatchHandle {
    let controller: AbortController | undefined;
    let aborted = false;
    let settled = false;
    let markConnected: () => void = () => {};
    const connected = new Promise<void>((resolve) => {
      markConnected = resolve;
    });
    const done = new Promise<void>((resolve, reject) => {
      this.watcher
        .watch(
          path,
          { ...query },
          (type: string, object: unknown) => onEvent(type as WatchEventType, object),
          (err: unknown) => {
            settled = true;
            if (err) reject(err);
            else resolve();
          },
        )
        .then((c) => {
          // Watch.watch returns after the response headers, or after reporting a failure.
          controller = c;
          if (aborted) c.abort();
          else if (!settled) markConnected();
        }, reject);
    });
    return {
      done,
      connected,
      abort: () => {
        aborted = true;
        controller?.abort();
      },
    };
  }

  private async get(url: URL, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const opts: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    try {
      return await new Promise((resolve, reject) => {
        const req = send(
          url,
          {
            ...opts,
            method: 'GET',
            headers: { ...opts.headers, Accept: 'application/json' },
            signal,
            timeout: 60_000,
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > MAX_LIST_BYTES)
                req.destroy(new Error(`GET ${url.pathname}: response larger than ${MAX_LIST_BYTES} bytes`));
              else chunks.push(c);
            });
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const code = res.statusCode ?? 0;
              if (code !== 200) {
                let message = text.slice(0, 300);
                try {
                  message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
                } catch {}
                reject(new KubeStatusError(code, `GET ${url.pathname}: HTTP ${code}: ${message}`));
                return;
              }
              try {
                resolve(JSON.parse(text) as Record<string, unknown>);
              } catch (err) {
                reject(new Error(`GET ${url.pathname}: invalid JSON: ${(err as Error).message}`));
              }
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error(`GET ${url.pathname}: timed out`)));
        req.on('error', reject);
        req.end();
      });
    } finally {
      (opts.agent as { destroy?: () => void } | undefined)?.destroy?.();
    }
  }
}
