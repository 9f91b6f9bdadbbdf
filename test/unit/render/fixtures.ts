// Shared inputs of the renderer tests: the default configuration and a MAS
// with one app of each kind of baseUrl host.
import { type AgentConfig, loadConfig } from '../../../src/agent/config/load.js';
import type { MultiAgentSystem, Workload } from '../../../src/policy/types.js';

export function defaultConfig(flags: Record<string, string> = {}): AgentConfig {
  return loadConfig({ flags, env: {} });
}

export function mas(overrides: Partial<MultiAgentSystem> = {}): MultiAgentSystem {
  return {
    ref: { namespace: 'travel', name: 'planner' },
    llmHost: 'litellm.example.com',
    apps: [
      { name: 'planner', type: 'agent', baseUrl: { host: 'planner.travel:8080', scheme: 'http' } },
      {
        name: 'flights',
        type: 'mcp_server',
        baseUrl: { host: 'flights.travel.svc.cluster.local:8000', scheme: 'http' },
      },
      { name: 'hotels', type: 'mcp_server', baseUrl: { host: 'hotels', scheme: 'http' } },
    ],
    ...overrides,
  };
}

export function workload(type: Workload['type'], ips: string[], name = `${type}-pod`): Workload {
  return {
    kind: 'pod',
    mas: { namespace: 'travel', name: 'planner' },
    app: { name, type },
    type,
    appId: name,
    namespace: 'travel',
    podName: name,
    podUid: `${name}-uid`,
    ips,
    nodeName: 'node-a',
  };
}

/** Every value in a JSON tree (for "nowhere in the output" assertions). */
export function* walk(v: unknown, path = '$'): Generator<[string, unknown]> {
  yield [path, v];
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) yield* walk(v[i], `${path}[${i}]`);
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) yield* walk(x, `${path}.${k}`);
  }
}

export type J = Record<string, unknown>;

/** Reads a dotted path (`a.b.0.c`) from a JSON tree; undefined when absent. */
export function dig(v: unknown, path: string): unknown {
  let cur = v;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
