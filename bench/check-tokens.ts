// The traffic of the Check benchmark: T3s minted at the reference runtime
// directly (so the agent has never seen them: a cold introspection cache),
// and the inbound MCP tools/call Check that carries one.
import { CasaRuntimeClient } from '../src/agent/tokens/index.js';
import type { CheckSpec } from '../test/support/authz-client.js';
import { HOST, mcpCall, newTraceId, traceparent, type World } from '../test/support/casa-world.js';

/** N distinct T3s for `read_file` on the MCP server, minted at the runtime directly (the agent never saw them). */
export async function mintT3s(w: World, n: number): Promise<string[]> {
  const rt = new CasaRuntimeClient({
    runtimeUrl: w.runtime.url,
    timeoutMs: 5_000,
    concurrency: 16,
    queue: 10_000,
  });
  try {
    const { planner, files } = w.apps;
    return await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const t1 = await rt.issueUserToken({
          appId: planner.appId,
          credentials: planner.credentials,
          userInput: `read my itinerary (bench ${i} ${newTraceId()})`,
        });
        const t3 = await rt.exchange({
          appId: files.appId,
          credentials: files.credentials,
          subjectToken: t1.accessToken,
          mcpServerUrl: `http://${HOST.files}/mcp`,
          tools: ['read_file'],
        });
        return t3.accessToken;
      }),
    );
  } finally {
    await rt.close();
  }
}

/** An inbound tools/call from an unmanaged caller to the MCP server, carrying a T3. */
export function inboundCall(token: string, trace: string): Omit<CheckSpec, 'source' | 'destination'> {
  return {
    path: '/mcp',
    host: HOST.files,
    headers: {
      traceparent: traceparent(trace),
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
    },
    body: mcpCall('read_file'),
  };
}
