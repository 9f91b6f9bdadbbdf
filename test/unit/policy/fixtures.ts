// Shared builders for the policy unit tests: requests and resolved endpoints.
import type { HttpRequestAttributes } from '../../../src/policy/request.js';
import type { AppSpec, AppType, Endpoint } from '../../../src/policy/types.js';

export const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
export const TRACEPARENT = `00-${TRACE}-00f067aa0ba902b7-01`;
export const FRESH = {
  traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  spanId: 'bbbbbbbbbbbbbbbb',
  llmCallId: '6f1c2a3e-3c1d-4a7b-9e2f-0d9a8b7c6d5e',
};
export const LLM_HOST = 'llm.example.com';

export interface ReqInit {
  headers?: Record<string, string>;
  body?: string | object;
  truncated?: boolean;
  host?: string;
  scheme?: string;
}

export function req(method: string, path: string, init: ReqInit = {}): HttpRequestAttributes {
  const headers = new Map(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const text =
    init.body === undefined
      ? undefined
      : typeof init.body === 'string'
        ? init.body
        : JSON.stringify(init.body);
  return {
    method,
    path,
    host: init.host ?? 'svc:8080',
    scheme: init.scheme,
    headers,
    body:
      text === undefined
        ? undefined
        : { data: new TextEncoder().encode(text), truncated: init.truncated ?? false },
  };
}

export function rpc(method: string, params?: object, id: number | null = 1): object {
  return params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
}

export function endpoint(name: string, type: AppType, extra: Partial<AppSpec> = {}): Endpoint {
  const app: AppSpec = { name, type, baseUrl: { host: `${name}:8000`, scheme: 'http' }, ...extra };
  return {
    kind: 'pod',
    mas: { namespace: 'demo', name: 'mas' },
    llmHost: LLM_HOST,
    app,
    type,
    appId: `${name}-id`,
    namespace: 'demo',
    podName: `${name}-0`,
    podUid: `${name}-uid`,
    ips: ['10.0.0.1'],
  };
}

export const agent = endpoint('orchestrator', 'agent');
export const entryAgent = endpoint('front', 'agent', { promptFieldJsonPath: '{.prompt}' });
export const client = endpoint('user-app', 'client');
export const mcpServer = endpoint('files', 'mcp_server');
