// A whole CASA world on loopback for the ext_authz suites: the reference
// runtime (casa profile, signed JWTs), a folder of ordinary Kubernetes YAML
// read by the real file inventory, and the real NodeAgent (ext_authz, xDS,
// diagnostics) — queried over gRPC with Envoy-shaped CheckRequests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/agent/config/load.js';
import { masResource, podResource } from '../../src/agent/dev/manifests.js';
import { AppRegistry, ReferenceRuntime, type RuntimeApp } from '../../src/agent/dev/runtime/index.js';
import { createLogger, type Logger } from '../../src/agent/log.js';
import { NodeAgent } from '../../src/agent/node-agent.js';
import type { SpanPrinter } from '../../src/agent/telemetry/index.js';
import type { MultiAgentSystem } from '../../src/policy/types.js';
import { AuthzClient, type CheckSpec } from './authz-client.js';

export const NS = 'travel';
export const NODE = 'node-a';
export const LLM_HOST = 'llm.example.com';

/** Pod IPs of the example apps; OUTSIDE is an unmanaged pod. */
export const IP = {
  web: '10.0.0.10',
  planner: '10.0.0.11',
  helper: '10.0.0.12',
  files: '10.0.0.13',
  outside: '10.0.9.9',
} as const;

export const HOST = {
  web: 'web.travel:8080',
  planner: 'planner.travel:8000',
  helper: 'helper.travel:8000',
  files: 'files.travel:8000',
} as const;

export const TRAVEL: MultiAgentSystem = {
  ref: { namespace: NS, name: 'travel' },
  llmHost: LLM_HOST,
  apps: [
    {
      name: 'web',
      type: 'client',
      kubernetesWorkloadName: 'web',
      baseUrl: { host: HOST.web, scheme: 'http' },
    },
    {
      name: 'planner',
      type: 'agent',
      kubernetesWorkloadName: 'planner',
      baseUrl: { host: HOST.planner, scheme: 'http' },
      promptFieldJsonPath: '{.prompt}',
    },
    {
      name: 'helper',
      type: 'agent',
      kubernetesWorkloadName: 'helper',
      baseUrl: { host: HOST.helper, scheme: 'http' },
    },
    {
      name: 'files',
      type: 'mcp_server',
      kubernetesWorkloadName: 'files',
      baseUrl: { host: HOST.files, scheme: 'http' },
    },
  ],
};

export interface WorldOptions {
  readonly now?: () => number;
  /** Extra settings (flag names in camelCase, string values). */
  readonly flags?: Record<string, string>;
  /** Start the agent before the runtime is listening (runtime absent at start). */
  readonly runtimeDown?: boolean;
  /** Environment the configuration is loaded from (default: none). */
  readonly env?: Record<string, string>;
  /** The agent's logger (default: silent). */
  readonly log?: Logger;
  /** Decision spans printed as they end (the `dev` console). */
  readonly spanPrinter?: SpanPrinter;
}

export interface World {
  readonly runtime: ReferenceRuntime;
  readonly agent: NodeAgent;
  readonly client: AuthzClient;
  readonly apps: Readonly<Record<'web' | 'planner' | 'helper' | 'files', RuntimeApp>>;
  readonly dir: string;
  /** Sends a Check from `from` (an IP) to `to` (an IP) with Envoy's attributes. */
  check(
    from: string,
    to: string,
    spec: Omit<CheckSpec, 'source' | 'destination'>,
    deadlineMs?: number,
  ): ReturnType<AuthzClient['check']>;
  stop(): Promise<void>;
}

function manifests(apps: readonly RuntimeApp[]): string {
  const docs: unknown[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS, labels: { 'casa.io/injection': 'enabled' } },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'outside' } },
    masResource(TRAVEL, { uid: 'uid-mas-travel', generation: 1 }),
  ];
  for (const [name, ip] of Object.entries(IP)) {
    const managed = name !== 'outside';
    docs.push(
      podResource({
        name: `${name}-0`,
        namespace: managed ? NS : 'outside',
        uid: `uid-${name}`,
        nodeName: NODE,
        ip,
        labels: managed ? { 'casa.io/app': name } : { app: name },
      }),
    );
  }
  for (const app of apps) docs.push(AppRegistry.secretFor(app));
  return docs.map((d) => stringify(d)).join('---\n');
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const runtime = await ReferenceRuntime.start(opts.now ? { now: opts.now } : {});
  // App ids equal app names here, so the agent finds `<name>-oauth2-credentials`.
  const registered = runtime.registerMas(TRAVEL, {
    appIds: Object.fromEntries(TRAVEL.apps.map((a) => [a.name, a.name])),
  });
  const apps = Object.fromEntries(registered.map((a) => [a.name, a])) as World['apps'];
  if (opts.runtimeDown) await runtime.stop();
  const dir = mkdtempSync(join(tmpdir(), 'casa-world-'));
  writeFileSync(join(dir, 'travel.yaml'), manifests(registered));
  const config = loadConfig({
    flags: {
      nodeName: NODE,
      inventory: 'file',
      manifests: dir,
      runtimeUrl: runtime.url,
      authzListen: '127.0.0.1:0',
      xdsListen: '127.0.0.1:0',
      diagListen: '127.0.0.1:0',
      logLevel: 'silent',
      drainTimeout: '100ms',
      ...opts.flags,
    },
    env: opts.env ?? {},
  });
  const agent = new NodeAgent({
    config,
    log: opts.log ?? createLogger('silent'),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.spanPrinter ? { spanPrinter: opts.spanPrinter } : {}),
  });
  const at = await agent.start();
  const client = new AuthzClient(`127.0.0.1:${at.authz.port}`);
  return {
    runtime,
    agent,
    client,
    apps,
    dir,
    check: (from, to, spec, deadlineMs) =>
      client.check(
        { ...spec, source: { ip: from, port: 40000 }, destination: { ip: to, port: 8000 } },
        deadlineMs,
      ),
    async stop() {
      client.close();
      await agent.stop();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const TRACE = '0af7651916cd43dd8448eb211c80319c';
export const TRACEPARENT = `00-${TRACE}-b7ad6b7169203331-01`;

export function traceparent(traceId: string): string {
  return `00-${traceId}-b7ad6b7169203331-01`;
}

/** A fresh random trace id per test, so traces never collide. */
export function newTraceId(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function mcpCall(tool: string, id = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: {} } });
}

export function rpc(method: string, params: unknown = {}, id = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, params });
}

export function a2aSend(text: string): string {
  return rpc('message/send', {
    message: { role: 'user', kind: 'message', messageId: 'm1', parts: [{ kind: 'text', text }] },
  });
}
