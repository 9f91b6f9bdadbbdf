// `casa.io/v1alpha1` MultiAgentSystem → MultiAgentSystem (policy/types.ts).
// Field names follow the shipped CRD (shared/crds/casa-multiagentsystems.yaml):
// `spec.llm_host` is snake_case, apps use camelCase. The CRD's type enum lists
// agent and mcp_server; `client` is accepted too, as the runtime accepts it
// (it only reaches us from a cluster whose CRD allows it, or from a file).
// A MAS is taken or rejected whole: half a MAS would silently un-manage apps.
import { compileJsonPath } from '../../policy/jsonpath.js';
import { type AppSpec, isAppType, type MultiAgentSystem } from '../../policy/types.js';
import { describe, type FieldReader, type Obj, readMeta } from './fields.js';

export interface MultiAgentSystemRecord {
  readonly kind: 'MultiAgentSystem';
  readonly key: string;
  readonly mas: MultiAgentSystem;
  /** Problems that do not stop the MAS from being used (shown as warnings). */
  readonly problems: readonly string[];
}

// host, host:port, [v6]:port, v6 — what `urlparse(base_url).netloc` gives, without userinfo.
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const BARE_V6 = /^[0-9A-Fa-f:.]+$/;

/** Checks an authority (`host[:port]`); the error says what is wrong with it. */
export function hostProblem(host: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) return 'expected a host[:port], not a URL (drop the scheme)';
  if (/[/?#@\s]/.test(host)) return 'expected a host[:port] without path, query, user or spaces';
  if (host.includes(':') && BARE_V6.test(host) && host.split(':').length > 2) return undefined;
  if (!HOST.test(host)) return 'expected a host[:port]';
  const port = /:(\d+)$/.exec(host)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return 'port must be 1 to 65535';
  return undefined;
}

export function decodeMultiAgentSystem(r: FieldReader, raw: Obj): MultiAgentSystemRecord {
  const m = readMeta(r, raw, true);
  const namespace = m.namespace ?? 'default';
  const spec = r.requiredObj(raw.spec, 'spec');
  const problems: string[] = [];
  const llmHost = r.str(spec.llm_host, 'spec.llm_host');
  if (llmHost !== undefined) {
    const p = hostProblem(llmHost);
    if (p) r.fail('spec.llm_host', `${p}, got ${JSON.stringify(llmHost)}`);
  }
  const names = new Set<string>();
  const workloads = new Map<string, string>();
  const apps = r.list(spec.apps, 'spec.apps').map((rawApp, i): AppSpec => {
    const f = `spec.apps[${i}]`;
    const a = r.requiredObj(rawApp, f);
    const name = r.requiredStr(a.name, `${f}.name`);
    if (names.has(name)) r.fail(`${f}.name`, `duplicate app name ${JSON.stringify(name)}`);
    names.add(name);
    if (!isAppType(a.type)) {
      r.fail(`${f}.type`, `expected agent, mcp_server or client, got ${describe(a.type)}`);
    }
    const baseUrl = readBaseUrl(r, a.baseUrl, `${f}.baseUrl`);
    const kubernetesWorkloadName = r.str(a.kubernetesWorkloadName, `${f}.kubernetesWorkloadName`);
    if (kubernetesWorkloadName) {
      const other = workloads.get(kubernetesWorkloadName.toLowerCase());
      if (other !== undefined) {
        problems.push(
          `${f}.kubernetesWorkloadName: ${JSON.stringify(kubernetesWorkloadName)} is also the workload of app ${JSON.stringify(other)}; its pods belong to ${JSON.stringify(other)}`,
        );
      } else workloads.set(kubernetesWorkloadName.toLowerCase(), name);
    }
    let promptFieldJsonPath: string | undefined;
    const schema = r.obj(a.httpRequestSchema, `${f}.httpRequestSchema`);
    if (schema) {
      const pf = `${f}.httpRequestSchema.promptFieldJsonPath`;
      promptFieldJsonPath = r.requiredStr(schema.promptFieldJsonPath, pf);
      try {
        compileJsonPath(promptFieldJsonPath);
      } catch (err) {
        // Kept: the decision denies such a request with a reason; the rest of the MAS stays enforced.
        problems.push(`${pf}: ${(err as Error).message}`);
      }
    }
    return {
      name,
      type: a.type,
      ...(kubernetesWorkloadName ? { kubernetesWorkloadName } : {}),
      ...(baseUrl ? { baseUrl } : {}),
      ...(promptFieldJsonPath ? { promptFieldJsonPath } : {}),
    };
  });
  return {
    kind: 'MultiAgentSystem',
    key: `${namespace}/${m.name}`,
    mas: {
      ref: { namespace, name: m.name },
      ...(m.uid ? { uid: m.uid } : {}),
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(llmHost ? { llmHost } : {}),
      apps,
    },
    problems: problems.map((p) => `MultiAgentSystem ${namespace}/${m.name}: ${p}`),
  };
}

function readBaseUrl(r: FieldReader, v: unknown, f: string): AppSpec['baseUrl'] {
  const b = r.obj(v, f);
  if (!b) return undefined;
  const host = r.requiredStr(b.host, `${f}.host`);
  const p = hostProblem(host);
  if (p) r.fail(`${f}.host`, `${p}, got ${JSON.stringify(host)}`);
  const scheme = (r.str(b.scheme, `${f}.scheme`) ?? 'http').toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') {
    r.fail(`${f}.scheme`, `expected http or https, got ${JSON.stringify(b.scheme)}`);
  }
  return { host, scheme };
}
