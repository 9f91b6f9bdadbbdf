// The three writes the applier makes — server-side apply, a labelled list, a
// delete — over @kubernetes/client-node's KubeConfig (which owns in-cluster
// authentication and TLS). Raw JSON in and out: the objects are CRDs the
// generated typed clients do not know.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeStatusError } from '../inventory/kube-api.js';
import type { KubernetesObject } from '../render/kubernetes-object.js';
import { collectionPath, objectPath, type ResourceType } from './resources.js';

export interface ObjectRef {
  readonly name: string;
  readonly namespace?: string;
}

export interface ApplyOptions {
  readonly fieldManager: string;
  /** Take over fields another manager owns (the applier is the declared single writer). */
  readonly force: boolean;
}

export interface ObjectWriter {
  /** PATCH application/apply-patch+yaml; resolves with the object's resourceVersion after the apply. */
  apply(type: ResourceType, obj: KubernetesObject, o: ApplyOptions): Promise<string>;
  /** Names of the objects of one type carrying `labelSelector`. */
  list(type: ResourceType, labelSelector: string): Promise<ObjectRef[]>;
  /** Deletes one object; false when it was already gone. */
  delete(type: ResourceType, ref: ObjectRef): Promise<boolean>;
}

/** Response bodies are Kubernetes objects or lists of a few; anything bigger is a fault. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export class KubeObjectWriter implements ObjectWriter {
  constructor(
    private readonly kc: KubeConfig,
    private readonly timeoutMs = 30_000,
  ) {}

  async apply(type: ResourceType, obj: KubernetesObject, o: ApplyOptions): Promise<string> {
    const query = new URLSearchParams({ fieldManager: o.fieldManager, force: String(o.force) });
    // Strict: a field the CRD does not know is an error, not silently dropped (Cilium would
    // otherwise run a config that differs from what the renderer meant).
    query.set('fieldValidation', 'Strict');
    const path = `${objectPath(type, obj.metadata.name, obj.metadata.namespace)}?${query}`;
    // JSON is YAML: the apply-patch+yaml body can be the object as JSON.
    const body = await this.call('PATCH', path, JSON.stringify(obj), 'application/apply-patch+yaml');
    const rv = (body as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
    return typeof rv === 'string' ? rv : '';
  }

  async list(type: ResourceType, labelSelector: string): Promise<ObjectRef[]> {
    const path = `${collectionPath(type)}?${new URLSearchParams({ labelSelector })}`;
    const body = (await this.call('GET', path)) as { items?: unknown };
    if (!Array.isArray(body.items))
      throw new Error(`GET ${collectionPath(type)}: response has no items list`);
    return body.items.map((item: { metadata?: { name?: unknown; namespace?: unknown } }) => ({
      name: String(item.metadata?.name ?? ''),
      ...(typeof item.metadata?.namespace === 'string' ? { namespace: item.metadata.namespace } : {}),
    }));
  }

  async delete(type: ResourceType, ref: ObjectRef): Promise<boolean> {
    try {
      await this.call('DELETE', objectPath(type, ref.name, ref.namespace));
      return true;
    } catch (err) {
      if (err instanceof KubeStatusError && err.statusCode === 404) return false;
      throw err;
    }
  }

  private async call(method: string, path: string, body?: string, contentType?: string): Promise<unknown> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    const opts: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const what = `${method} ${url.pathname}`;
    try {
      return await new Promise((resolve, reject) => {
        const req = send(
          url,
          {
            ...opts,
            method,
            headers: {
              ...opts.headers,
              Accept: 'application/json',
              ...(body !== undefined ? { 'Content-Type': contentType ?? 'application/json' } : {}),
            },
            timeout: this.timeoutMs,
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > MAX_RESPONSE_BYTES) req.destroy(new Error(`${what}: response too large`));
              else chunks.push(c);
            });
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const code = res.statusCode ?? 0;
              let parsed: unknown;
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = undefined;
              }
              if (code < 200 || code >= 300) {
                const message = (parsed as { message?: unknown } | undefined)?.message;
                reject(
                  new KubeStatusError(
                    code,
                    `${what}: HTTP ${code}: ${typeof message === 'string' ? message : text.slice(0, 300)}`,
                  ),
                );
              } else if (parsed === undefined) reject(new Error(`${what}: invalid JSON`));
              else resolve(parsed);
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error(`${what}: timed out after ${this.timeoutMs} ms`)));
        req.on('error', reject);
        req.end(body);
      });
    } finally {
      (opts.agent as { destroy?: () => void } | undefined)?.destroy?.();
    }
  }
}
