// Which Kubernetes Service ports carry traffic to MAS apps: the `spec.services`
// of the L7 LB envoy config and its EDS clusters. Derived from each app's
// `baseUrl` (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.<domain>`, optional
// `:port`), checked against real Services when the caller has them.
import type { AppSpec, MultiAgentSystem } from '../../policy/types.js';
import { cmp } from './envoy-routes.js';

/** A Service as the renderer needs it (from the inventory or a manifest). */
export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly { readonly port: number; readonly protocol?: string; readonly name?: string }[];
  readonly clusterIps?: readonly string[];
}

/** One Service port to redirect to the L7 LB listener. */
export interface AppServicePort {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  readonly clusterIps: readonly string[];
  /** `mas-namespace/mas-name/app` of every app reached through it, sorted. */
  readonly apps: readonly string[];
}

export interface ServiceHost {
  readonly namespace: string;
  readonly name: string;
  readonly port?: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Reads a `baseUrl.host` as a cluster Service name. Returns undefined for
 * anything else (an IP literal, an external name with three or more labels
 * that does not end in `.svc` or `.svc.<clusterDomain>`). A two-label host
 * `a.b` is read as Service `a` in namespace `b`, as cluster DNS resolves it.
 */
export function parseServiceHost(
  host: string,
  defaultNamespace: string,
  clusterDomain = 'cluster.local',
): ServiceHost | undefined {
  const m = /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(host.trim().toLowerCase());
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  let name = (m[1] ?? '').replace(/\.$/, '');
  const domainSuffix = `.svc.${clusterDomain.toLowerCase()}`;
  if (name.endsWith(domainSuffix)) name = name.slice(0, -domainSuffix.length);
  else if (name.endsWith('.svc')) name = name.slice(0, -'.svc'.length);
  else if (name.split('.').length > 2) return undefined;
  const labels = name.split('.');
  if (labels.some((l) => !DNS_LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1] ?? '')) {
    return undefined;
  }
  if (labels.length === 1) return { namespace: defaultNamespace, name: labels[0] ?? '', port };
  if (labels.length === 2) return { namespace: labels[1] ?? '', name: labels[0] ?? '', port };
  return undefined;
}

export interface AppServicesInput {
  readonly multiAgentSystems: readonly MultiAgentSystem[];
  /** Real Services; when given, only app hosts that name one of their TCP ports are kept. */
  readonly services?: readonly ServiceInfo[];
  readonly clusterDomain?: string;
  readonly warn?: (message: string) => void;
}

function defaultPort(app: AppSpec): number {
  return app.baseUrl?.scheme === 'https' ? 443 : 80;
}

/** The Service ports of every MAS app, deduplicated and sorted. */
export function appServicePorts(input: AppServicesInput): AppServicePort[] {
  const warn = input.warn ?? (() => {});
  const known = input.services
    ? new Map(input.services.map((s) => [`${s.namespace}/${s.name}`, s]))
    : undefined;
  const out = new Map<string, { svc: Omit<AppServicePort, 'apps'>; apps: Set<string> }>();
  for (const mas of input.multiAgentSystems) {
    for (const app of mas.apps) {
      const where = `MultiAgentSystem ${mas.ref.namespace}/${mas.ref.name} app ${app.name}`;
      if (!app.baseUrl) {
        warn(`${where}: no baseUrl, so no Service is redirected for it`);
        continue;
      }
      if (app.baseUrl.scheme === 'https') {
        warn(
          `${where}: baseUrl scheme https cannot be inspected by the L7 listener; its Service is not redirected`,
        );
        continue;
      }
      const host = parseServiceHost(app.baseUrl.host, mas.ref.namespace, input.clusterDomain);
      if (!host) {
        warn(`${where}: baseUrl.host ${JSON.stringify(app.baseUrl.host)} is not a cluster Service name`);
        continue;
      }
      const port = host.port ?? defaultPort(app);
      let clusterIps: readonly string[] = [];
      if (known) {
        const svc = known.get(`${host.namespace}/${host.name}`);
        const sp = svc?.ports.find((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP');
        if (!svc || !sp) {
          warn(`${where}: no Service ${host.namespace}/${host.name} with TCP port ${port}`);
          continue;
        }
        clusterIps = svc.clusterIps ?? [];
      }
      const key = `${host.namespace}/${host.name}:${port}`;
      const entry = out.get(key) ?? {
        svc: { namespace: host.namespace, name: host.name, port, clusterIps },
        apps: new Set<string>(),
      };
      entry.apps.add(`${mas.ref.namespace}/${mas.ref.name}/${app.name}`);
      out.set(key, entry);
    }
  }
  return [...out.values()]
    .map(({ svc, apps }) => ({ ...svc, apps: [...apps].sort(cmp) }))
    .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || a.port - b.port);
}
