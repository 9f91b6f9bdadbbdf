// Kubernetes objects for a MAS as the policy core knows it — what CASA's
// operator and the kubelet would leave in a cluster — for the dev world's file
// inventory and for tests that feed the real inventory. The inverse of
// src/agent/inventory/mas.ts (and, for credentials, of AppRegistry.secretFor).
import type { MultiAgentSystem } from '../../policy/types.js';

export interface MasResourceOptions {
  readonly uid?: string;
  readonly generation?: number;
  /**
   * The shipped CRD's `type` enum lacks `client`: CASA then marks a client by
   * the pod label `casa.io/app-type`, and the resource says `agent`.
   */
  readonly clientAsAgent?: boolean;
}

/** The `casa.io/v1alpha1` MultiAgentSystem resource of `mas`. */
export function masResource(mas: MultiAgentSystem, o: MasResourceOptions = {}) {
  const { namespace, name } = mas.ref;
  return {
    apiVersion: 'casa.io/v1alpha1',
    kind: 'MultiAgentSystem',
    metadata: {
      name,
      namespace,
      ...(o.uid !== undefined ? { uid: o.uid } : {}),
      ...(o.generation !== undefined ? { generation: o.generation } : {}),
    },
    spec: {
      name,
      ...(mas.llmHost !== undefined ? { llm_host: mas.llmHost } : {}),
      apps: mas.apps.map((a) => ({
        name: a.name,
        type: o.clientAsAgent && a.type === 'client' ? 'agent' : a.type,
        kubernetesWorkloadName: a.kubernetesWorkloadName,
        baseUrl: a.baseUrl,
        ...(a.promptFieldJsonPath
          ? { httpRequestSchema: { promptFieldJsonPath: a.promptFieldJsonPath } }
          : {}),
      })),
    },
  };
}

export interface PodResourceOptions {
  readonly name: string;
  readonly namespace: string;
  readonly nodeName: string;
  readonly ip: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly image?: string;
}

/** A scheduled, running Pod with its IP, as the kubelet reports it. */
export function podResource(o: PodResourceOptions) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      uid: o.uid,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { ...o.labels },
    },
    spec: { nodeName: o.nodeName, containers: [{ name: 'app', image: o.image ?? 'example' }] },
    status: { phase: 'Running', podIP: o.ip, podIPs: [{ ip: o.ip }] },
  };
}
