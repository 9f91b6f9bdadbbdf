// Objects tests need in a control plane without scheduler, kubelet or
// controller manager: namespaces, pods that look scheduled and running (bound
// with spec.nodeName, status patched through the status subresource), pod
// deletion that completes at once (grace period 0), and service-account
// tokens from the TokenRequest API.
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1OwnerReference,
  type V1Pod,
} from '@kubernetes/client-node';

export interface NamespaceOptions {
  /** Name prefix (default "t"); a counter and random suffix make the name unique. */
  readonly prefix?: string;
  readonly labels?: Record<string, string>;
}

export interface PodOptions {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  /** Set status.podIP (and podIPs, phase Running, Ready). Omitted: the pod stays Pending without an IP. */
  readonly podIP?: string;
  /** Further IPs of a dual-stack pod (status.podIPs after podIP). */
  readonly extraPodIPs?: readonly string[];
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly ownerReferences?: readonly V1OwnerReference[];
  readonly serviceAccountName?: string;
}

export interface TokenOptions {
  readonly namespace: string;
  /** Created when missing. */
  readonly serviceAccount: string;
  /** Default: the apiserver's audience (its issuer). */
  readonly audiences?: readonly string[];
  /** Default 3600 (the API's minimum is 600). */
  readonly expirationSeconds?: number;
  /** Bind the token to a pod (its uid must match). */
  readonly boundPod?: { readonly name: string; readonly uid: string };
}

export interface KubeObjects {
  newNamespace(options?: NamespaceOptions): Promise<string>;
  /** Creates the pod bound to `nodeName`; with `podIP`, patches it Running and Ready with that IP. */
  createPod(options: PodOptions): Promise<V1Pod>;
  /** Deletes with grace period 0 and waits until the pod is gone. */
  deletePod(namespace: string, name: string): Promise<void>;
  /** A TokenRequest token for the service account (created if missing). */
  createServiceAccountToken(options: TokenOptions): Promise<string>;
}

// Never pulled: no kubelet runs.
const PLACEHOLDER_IMAGE = 'registry.invalid/casa/test-workload:0';

export function kubeObjects(kubeConfig: KubeConfig): KubeObjects {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  let namespaces = 0;

  return {
    async newNamespace(options = {}) {
      namespaces += 1;
      const name = `${options.prefix ?? 't'}-${namespaces}-${randomBytes(3).toString('hex')}`;
      await core.createNamespace({
        body: { metadata: { name, ...(options.labels ? { labels: { ...options.labels } } : {}) } },
      });
      return name;
    },

    async createPod(o) {
      const created = await core.createNamespacedPod({
        namespace: o.namespace,
        body: {
          metadata: {
            name: o.name,
            namespace: o.namespace,
            ...(o.labels ? { labels: { ...o.labels } } : {}),
            ...(o.annotations ? { annotations: { ...o.annotations } } : {}),
            ...(o.ownerReferences ? { ownerReferences: [...o.ownerReferences] } : {}),
          },
          spec: {
            nodeName: o.nodeName,
            ...(o.serviceAccountName ? { serviceAccountName: o.serviceAccountName } : {}),
            containers: [{ name: 'app', image: PLACEHOLDER_IMAGE }],
          },
        },
      });
      if (o.podIP === undefined) return created;
      const ips = [o.podIP, ...(o.extraPodIPs ?? [])];
      const now = new Date().toISOString();
      return core.patchNamespacedPodStatus(
        {
          namespace: o.namespace,
          name: o.name,
          body: {
            status: {
              phase: 'Running',
              podIP: o.podIP,
              podIPs: ips.map((ip) => ({ ip })),
              startTime: now,
              conditions: [
                { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
                { type: 'Ready', status: 'True', lastTransitionTime: now },
              ],
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },

    async deletePod(namespace, name) {
      await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await core.readNamespacedPod({ namespace, name });
        } catch (err) {
          if (err instanceof ApiException && err.code === 404) return;
          throw err;
        }
        if (Date.now() > deadline) throw new Error(`pod ${namespace}/${name} still exists 30 s after delete`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },

    async createServiceAccountToken(o) {
      try {
        await core.createNamespacedServiceAccount({
          namespace: o.namespace,
          body: { metadata: { name: o.serviceAccount, namespace: o.namespace } },
        });
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 409)) throw err;
      }
      const res = await core.createNamespacedServiceAccountToken({
        namespace: o.namespace,
        name: o.serviceAccount,
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            audiences: [...(o.audiences ?? [])],
            expirationSeconds: o.expirationSeconds ?? 3600,
            ...(o.boundPod
              ? {
                  boundObjectRef: {
                    apiVersion: 'v1',
                    kind: 'Pod',
                    name: o.boundPod.name,
                    uid: o.boundPod.uid,
                  },
                }
              : {}),
          },
        },
      });
      const token = res.status?.token;
      if (!token) throw new Error(`TokenRequest for ${o.namespace}/${o.serviceAccount} returned no token`);
      return token;
    },
  };
}
