// RouteConfigurations the agent serves over RDS to the two listeners. They are
// not part of the envoy configs, so Cilium does not rewrite them: their own
// names and the clusters they point at are written exactly as Envoy knows
// them (names.ts). Pure functions of the Service inventory.

import { type EnvoyJson, TYPE } from './envoy-resources.js';
import { EXT_AUTHZ_FILTER, SERVED_NAMES, serviceClusterName } from './names.js';

/** Which listener a Check came from, passed to ext_authz as a context extension. */
export const CONTEXT_LISTENER = 'casa_listener';
/** For the L7 LB listener: the Service (`namespace/name:port`) the route matched. */
export const CONTEXT_SERVICE = 'casa_service';

function authzContext(extensions: Record<string, string>): EnvoyJson {
  return {
    [EXT_AUTHZ_FILTER]: {
      '@type': TYPE.extAuthzPerRoute,
      check_settings: { context_extensions: extensions },
    },
  };
}

/**
 * Long-lived responses (MCP SSE streams, A2A `message/stream`) must not be cut
 * by Envoy's 15 s default route timeout; idle streams still end through the
 * connection manager's stream idle timeout.
 */
function forward(cluster: string): EnvoyJson {
  return { cluster, timeout: '0s' };
}

/** Egress listener: every request goes to the pod's original destination. */
export function egressRouteConfiguration(): EnvoyJson {
  return {
    '@type': TYPE.routeConfiguration,
    name: SERVED_NAMES.egressRoutes,
    virtual_hosts: [
      {
        name: 'original-destination',
        domains: ['*'],
        routes: [{ match: { prefix: '/' }, route: forward(SERVED_NAMES.originalDstCluster) }],
        typed_per_filter_config: authzContext({ [CONTEXT_LISTENER]: 'egress' }),
      },
    ],
  };
}

/** A Service port of a MAS app, as the L7 LB routes need it. */
export interface L7lbService {
  readonly namespace: string;
  readonly name: string;
  /** Frontend (Service) port. */
  readonly port: number;
  /** ClusterIPs of the Service (IPv4 and/or IPv6); requests by VIP match these. */
  readonly clusterIps: readonly string[];
}

export interface L7lbRouteOptions {
  /** Kubernetes cluster domain (default `cluster.local`). */
  readonly clusterDomain?: string;
}

/**
 * Host names a client may use for a Service port: the four DNS spellings and
 * every ClusterIP, with the port, and without it for port 80 (RFC 9110 §7.2:
 * the default port may be omitted from Host).
 */
export function serviceDomains(svc: L7lbService, clusterDomain = 'cluster.local'): string[] {
  const names = [
    svc.name,
    `${svc.name}.${svc.namespace}`,
    `${svc.name}.${svc.namespace}.svc`,
    `${svc.name}.${svc.namespace}.svc.${clusterDomain}`,
    ...svc.clusterIps.map((ip) => (ip.includes(':') ? `[${ip}]` : ip)),
  ];
  const out: string[] = [];
  for (const n of names) {
    out.push(`${n}:${svc.port}`);
    if (svc.port === 80) out.push(n);
  }
  return out;
}

/**
 * L7 LB listener: one virtual host per Service port, matched by Host, routed
 * to Cilium's EDS cluster for that port. Envoy refuses a RouteConfiguration in
 * which two virtual hosts share a domain, so a short name (`svc`, or
 * `svc:port`) that two namespaces share is left out: such a client must use a
 * qualified name or the VIP. A Host that matches no Service gets 421 (the
 * listener cannot know where the request was meant to go).
 */
export function l7lbRouteConfiguration(
  services: readonly L7lbService[],
  options: L7lbRouteOptions = {},
): EnvoyJson {
  const sorted = [...dedupe(services)].sort(compareService);
  const domainsOf = sorted.map((svc) => serviceDomains(svc, options.clusterDomain));
  const seen = new Map<string, number>();
  for (const domains of domainsOf) {
    for (const d of new Set(domains)) seen.set(d.toLowerCase(), (seen.get(d.toLowerCase()) ?? 0) + 1);
  }
  const vhosts: EnvoyJson[] = [];
  sorted.forEach((svc, i) => {
    const cluster = serviceClusterName(svc.namespace, svc.name, svc.port);
    const domains = [...new Set(domainsOf[i])].filter((d) => seen.get(d.toLowerCase()) === 1);
    if (domains.length === 0) return;
    vhosts.push({
      name: cluster,
      domains,
      routes: [{ match: { prefix: '/' }, route: forward(cluster) }],
      typed_per_filter_config: authzContext({ [CONTEXT_LISTENER]: 'l7lb', [CONTEXT_SERVICE]: cluster }),
    });
  });
  vhosts.push({
    name: 'unknown-service',
    domains: ['*'],
    routes: [
      {
        match: { prefix: '/' },
        direct_response: {
          status: 421,
          body: {
            inline_string: JSON.stringify({
              error: 'unknown_workload',
              message: 'no Service of a MultiAgentSystem app matches this Host',
            }),
          },
        },
      },
    ],
    typed_per_filter_config: authzContext({ [CONTEXT_LISTENER]: 'l7lb' }),
  });
  return {
    '@type': TYPE.routeConfiguration,
    name: SERVED_NAMES.l7lbRoutes,
    virtual_hosts: vhosts,
  };
}

function compareService(a: L7lbService, b: L7lbService): number {
  return cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || a.port - b.port;
}

/** Code-unit order: stable across locales, so rendered output never depends on the machine. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function dedupe(services: readonly L7lbService[]): L7lbService[] {
  const byKey = new Map<string, L7lbService>();
  for (const svc of services) {
    const key = `${svc.namespace}/${svc.name}:${svc.port}`;
    const prev = byKey.get(key);
    const ips = [...new Set([...(prev?.clusterIps ?? []), ...svc.clusterIps])].sort();
    byKey.set(key, { ...svc, clusterIps: ips });
  }
  return [...byKey.values()];
}
