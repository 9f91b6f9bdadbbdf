// The example MultiAgentSystem `casa-agent dev` runs: a client app (`web`),
// an agent (`planner`, a user entry point) and an MCP server (`flights`), in
// the managed namespace `demo`, written as the ordinary Kubernetes YAML the
// file inventory reads. Pods get synthetic pod IPs: on one laptop every app
// listens on 127.0.0.1, so the dev data plane tells them apart by listener and
// puts these IPs in the Checks, as Cilium's Envoy would put the real ones.
import { stringify } from 'yaml';
import type { MultiAgentSystem } from '../../policy/types.js';
import { masResource, podResource } from './manifests.js';
import { AppRegistry, type RuntimeApp } from './runtime/index.js';

export const DEMO_NS = 'demo';
export const DEMO_MAS = 'travel';
export const DEMO_NODE = 'dev-node';
export const DEMO_LLM_HOST = 'llm.demo.invalid';

export type DemoApp = 'web' | 'planner' | 'flights';

/** Synthetic pod IPs (a pod CIDR no laptop routes). */
export const POD_IP: Readonly<Record<DemoApp, string>> = {
  web: '10.244.0.10',
  planner: '10.244.0.11',
  flights: '10.244.0.12',
};

/** The MAS baseUrl hosts: what the apps put in their URLs, and how the data plane routes. */
export const APP_HOST: Readonly<Record<DemoApp, string>> = {
  web: 'web.demo:8080',
  planner: 'planner.demo:8000',
  flights: 'flights.demo:8000',
};

/** Where the A2A SDK's JSON-RPC binding is mounted on the planner (a default A2A path of the policy). */
export const PLANNER_RPC_PATH = '/a2a';
/** The A2A v1.0 JSON-RPC body's prompt: the first text part of the message. */
export const PLANNER_PROMPT_PATH = '{.params.message.parts[0].text}';

export const TOOLS = {
  search: 'search_flights',
  book: 'book_flight',
  cancel: 'delete_booking',
} as const;

/**
 * The tools this demo's runtime approves in an exchange. `delete_booking` is
 * never approved, so its tool token carries no such tool and the MCP server's
 * inbound check refuses it.
 */
export const APPROVED_TOOLS: readonly string[] = [TOOLS.search, TOOLS.book];

export const DEMO_MAS_SPEC: MultiAgentSystem = {
  ref: { namespace: DEMO_NS, name: DEMO_MAS },
  llmHost: DEMO_LLM_HOST,
  apps: [
    {
      name: 'web',
      type: 'client',
      kubernetesWorkloadName: 'web',
      baseUrl: { host: APP_HOST.web, scheme: 'http' },
    },
    {
      name: 'planner',
      type: 'agent',
      kubernetesWorkloadName: 'planner',
      baseUrl: { host: APP_HOST.planner, scheme: 'http' },
      promptFieldJsonPath: PLANNER_PROMPT_PATH,
    },
    {
      name: 'flights',
      type: 'mcp_server',
      kubernetesWorkloadName: 'flights',
      baseUrl: { host: APP_HOST.flights, scheme: 'http' },
    },
  ],
};

/** Namespace, MAS, one Pod per app (on DEMO_NODE) and the credentials Secrets. */
export function demoManifests(apps: readonly RuntimeApp[]): string {
  const docs: unknown[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: DEMO_NS, labels: { 'casa.io/injection': 'enabled' } },
    },
    masResource(DEMO_MAS_SPEC, { uid: 'uid-mas-travel', generation: 1 }),
  ];
  for (const [name, ip] of Object.entries(POD_IP)) {
    docs.push(
      podResource({
        name: `${name}-0`,
        namespace: DEMO_NS,
        uid: `uid-pod-${name}`,
        nodeName: DEMO_NODE,
        ip,
        labels: { 'casa.io/app': name },
        image: `casa-dev/${name}`,
      }),
    );
  }
  for (const app of apps) docs.push(AppRegistry.secretFor(app));
  return docs.map((d) => stringify(d)).join('---\n');
}
