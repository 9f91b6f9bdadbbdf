// A reference runtime with one MAS (client → agent → MCP server) and a casa
// client pointed at it. Everything real: HTTP on 127.0.0.1, signed JWTs.
import {
  ReferenceRuntime,
  type ReferenceRuntimeOptions,
  type RuntimeApp,
} from '../../../src/agent/dev/runtime/index.js';
import { type CasaClientOptions, CasaRuntimeClient } from '../../../src/agent/tokens/index.js';
import type { MultiAgentSystem } from '../../../src/policy/types.js';

export const BANK: MultiAgentSystem = {
  ref: { namespace: 'bank', name: 'banking' },
  llmHost: 'api.openai.com',
  apps: [
    {
      name: 'web',
      type: 'client',
      baseUrl: { host: 'web:8080', scheme: 'http' },
      promptFieldJsonPath: '{.prompt}',
    },
    { name: 'orchestrator', type: 'agent', baseUrl: { host: 'orchestrator:8000', scheme: 'http' } },
    { name: 'accounts', type: 'mcp_server', baseUrl: { host: 'accounts-mcp:8000', scheme: 'http' } },
  ],
};

export interface CasaFixture {
  readonly runtime: ReferenceRuntime;
  readonly client: CasaRuntimeClient;
  readonly web: RuntimeApp;
  readonly orchestrator: RuntimeApp;
  readonly accounts: RuntimeApp;
  close(): Promise<void>;
}

export async function casaFixture(
  runtimeOpts: ReferenceRuntimeOptions = {},
  clientOpts: Partial<CasaClientOptions> = {},
): Promise<CasaFixture> {
  const runtime = await ReferenceRuntime.start(runtimeOpts);
  const [web, orchestrator, accounts] = runtime.registerMas(BANK) as [RuntimeApp, RuntimeApp, RuntimeApp];
  const client = new CasaRuntimeClient({
    runtimeUrl: runtime.url,
    timeoutMs: 2_000,
    concurrency: 16,
    queue: 1_000,
    ...clientOpts,
  });
  return {
    runtime,
    client,
    web,
    orchestrator,
    accounts,
    async close() {
      await client.close();
      await runtime.close();
    },
  };
}

/** T1 for the web client, T2 for the orchestrator, T3 for the MCP server with `tools`. */
export async function tokenChain(f: CasaFixture, tools: readonly string[] = ['get_balance']) {
  const t1 = await f.client.issueUserToken({
    appId: f.web.appId,
    credentials: f.web.credentials,
    userInput: 'balance?',
  });
  const t2 = await f.client.exchange({
    appId: f.orchestrator.appId,
    credentials: f.orchestrator.credentials,
    subjectToken: t1.accessToken,
  });
  const t3 = await f.client.exchange({
    appId: f.accounts.appId,
    credentials: f.accounts.credentials,
    subjectToken: t2.accessToken,
    mcpServerUrl: 'http://accounts-mcp:8000/mcp',
    tools,
  });
  return { t1, t2, t3 };
}
