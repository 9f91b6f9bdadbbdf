// The cluster-wide Cilium objects that attach Envoy to the agent:
//   - CiliumClusterwideEnvoyConfig `casa-node-agent-egress`: the egress
//     listener managed pods' egress is redirected to (by the policy below),
//     forwarding to an ORIGINAL_DST cluster;
//   - CiliumClusterwideEnvoyConfig `casa-node-agent-l7lb`: the L7 load
//     balancing listener for the Services of MAS apps (`spec.services`), with
//     one EDS cluster per Service port (always rendered, so the set of objects
//     never changes shape; without app Services it redirects nothing);
//   - CiliumClusterwideNetworkPolicy `casa-node-agent`: selects every pod of a
//     managed namespace; its egress is default-deny except DNS (with DNS
//     visibility, which `toFQDNs` needs), any TCP port of managed pods
//     (through the egress listener) and the MAS `llm_host`s.
// Two configs, not one: Cilium marks every listener of a config with
// `spec.services` as L7 LB and gives every cluster of it Cilium's upstream
// filters; and `use-original-source-address` must be "false" for the egress
// listener (with the default "true" Envoy binds the upstream socket to the
// pod's address and port and dials the same original destination: the kernel
// refuses the duplicate 5-tuple — Cilium docs, "Redirect traffic to an Envoy
// listener") while the L7 LB listener keeps the client's address so the
// backend's own policies still see the real caller.
// Why port "0" towards managed pods: policy applies after Service translation,
// i.e. to pod (target) ports, which MAS objects do not name. Every TCP
// connection between managed pods is therefore HTTP through the gate; a
// non-HTTP protocol between managed pods needs its own policy (and is then not
// checked by CASA).
import { isIP } from 'node:net';
import type { MultiAgentSystem } from '../../policy/types.js';
import { type AppServicePort, appServicePorts, type ServiceInfo } from './app-services.js';
import {
  type EnvoySettings,
  type EnvoySettingsSource,
  egressListener,
  envoySettings,
  l7lbListener,
  originalDstCluster,
  serviceCluster,
} from './envoy-resources.js';
import { cmp } from './envoy-routes.js';
import { type KubernetesObject, RENDERED_LABELS } from './kubernetes-object.js';
import { EGRESS_CONFIG, EGRESS_LISTENER, L7LB_CONFIG, NETWORK_POLICY } from './names.js';

export const USE_ORIGINAL_SOURCE_ADDRESS = 'cec.cilium.io/use-original-source-address';
export const INJECTION_LABEL = 'casa.io/injection';
/** How Cilium exposes a namespace label on every pod of the namespace. */
export const NAMESPACE_LABEL_PREFIX = 'io.cilium.k8s.namespace.labels.';

export interface CiliumRenderInput {
  readonly config: EnvoySettingsSource;
  readonly multiAgentSystems: readonly MultiAgentSystem[];
  /** Real Services (inventory or manifests); without them Services are derived from app hosts. */
  readonly services?: readonly ServiceInfo[];
  /** Envoy-side tuning beyond AgentConfig (xDS transport, fetch and connect timeouts). */
  readonly envoy?: Partial<Omit<EnvoySettings, 'authzTarget' | 'xdsTarget'>>;
  readonly clusterDomain?: string;
  /** Selector of the cluster DNS pods (default: kube-system k8s-app=kube-dns). */
  readonly dnsSelector?: Readonly<Record<string, string>>;
  readonly warn?: (message: string) => void;
}

const DEFAULT_DNS_SELECTOR = {
  'k8s:io.kubernetes.pod.namespace': 'kube-system',
  'k8s:k8s-app': 'kube-dns',
};

/** Every pod of a namespace labelled casa.io/injection=enabled (fresh object per use). */
function managedSelector(): object {
  return {
    matchExpressions: [
      { key: `${NAMESPACE_LABEL_PREFIX}${INJECTION_LABEL}`, operator: 'In', values: ['enabled'] },
    ],
  };
}

function egressListenerRef(): object {
  return {
    envoyConfig: { kind: 'CiliumClusterwideEnvoyConfig', name: EGRESS_CONFIG },
    name: EGRESS_LISTENER,
  };
}

/** Renders the Cilium objects, in a fixed order, from MASes and (optionally) Services. */
export function renderCilium(input: CiliumRenderInput): KubernetesObject[] {
  const s = envoySettings(input.config, input.envoy);
  const ports = appServicePorts({
    multiAgentSystems: input.multiAgentSystems,
    services: input.services,
    clusterDomain: input.clusterDomain,
    warn: input.warn,
  });
  return [egressEnvoyConfig(s), l7lbEnvoyConfig(ports, s), networkPolicy(input)];
}

function envoyConfig(name: string, useOriginalSource: boolean, spec: object): KubernetesObject {
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideEnvoyConfig',
    metadata: {
      name,
      labels: { ...RENDERED_LABELS },
      annotations: { [USE_ORIGINAL_SOURCE_ADDRESS]: String(useOriginalSource) },
    },
    spec,
  };
}

export function egressEnvoyConfig(s: EnvoySettings): KubernetesObject {
  return envoyConfig(EGRESS_CONFIG, false, { resources: [egressListener(s), originalDstCluster(s)] });
}

export function l7lbEnvoyConfig(ports: readonly AppServicePort[], s: EnvoySettings): KubernetesObject {
  const byService = new Map<string, { namespace: string; name: string; ports: number[] }>();
  for (const p of ports) {
    const key = `${p.namespace}/${p.name}`;
    const entry = byService.get(key) ?? { namespace: p.namespace, name: p.name, ports: [] };
    entry.ports.push(p.port);
    byService.set(key, entry);
  }
  const services = [...byService.values()]
    .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name))
    .map((svc) => ({
      name: svc.name,
      namespace: svc.namespace,
      ports: [...svc.ports].sort((a, b) => a - b),
    }));
  return envoyConfig(L7LB_CONFIG, true, {
    ...(services.length > 0 ? { services } : {}),
    resources: [l7lbListener(s), ...ports.map((p) => serviceCluster(p.namespace, p.name, p.port, s))],
  });
}

interface LlmTarget {
  readonly host: string;
  readonly port?: number;
}

/** `llm_host` as written in a MAS: a host name or IP, optionally `:port` (a URL is tolerated). */
export function parseLlmHost(raw: string): LlmTarget | undefined {
  let v = raw.trim().toLowerCase();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//.exec(v);
  if (scheme) v = v.slice(scheme[0].length);
  v = v.replace(/[/?#].*$/, '');
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(v);
  if (!m) return undefined;
  const host = (m[1] ?? m[2] ?? '').replace(/\.$/, '');
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  // An IP literal, or a DNS name as toFQDNs.matchName accepts it (letters, digits, - and _ per label).
  if (isIP(host) === 0 && !/^[a-z0-9_]([-a-z0-9_]{0,62})(\.[a-z0-9_][-a-z0-9_]{0,62})*$/.test(host))
    return undefined;
  if (host.length > 253 || (m[1] !== undefined && isIP(host) !== 6)) return undefined;
  return { host, port };
}

function isIp(host: string): boolean {
  return isIP(host) !== 0;
}

/**
 * Egress rules for the MAS LLM endpoints. A plain-HTTP port goes through the
 * egress listener (the gate sees LLM egress); without an explicit port, 80 is
 * redirected and 443 is allowed at L4 only — Envoy cannot look inside TLS, so
 * HTTPS LLM traffic is limited to the FQDN by Cilium, not checked by CASA.
 */
function llmRules(input: CiliumRenderInput): object[] {
  const targets = new Map<string, LlmTarget>();
  for (const mas of input.multiAgentSystems) {
    if (!mas.llmHost) continue;
    const t = parseLlmHost(mas.llmHost);
    if (!t) {
      input.warn?.(
        `MultiAgentSystem ${mas.ref.namespace}/${mas.ref.name}: spec.llm_host ${JSON.stringify(mas.llmHost)} is not a host[:port]; not allowed`,
      );
      continue;
    }
    targets.set(`${t.host}:${t.port ?? ''}`, t);
  }
  const groups = new Map<string, { port?: number; hosts: Set<string> }>();
  for (const t of targets.values()) {
    const key = String(t.port ?? 'default');
    const g = groups.get(key) ?? { port: t.port, hosts: new Set<string>() };
    g.hosts.add(t.host);
    groups.set(key, g);
  }
  const rules: object[] = [];
  const sortedGroups = [...groups.values()].sort((a, b) => (a.port ?? 0) - (b.port ?? 0));
  for (const g of sortedGroups) {
    const hosts = [...g.hosts].sort(cmp);
    const toPorts =
      g.port !== undefined
        ? [{ ports: [{ port: String(g.port), protocol: 'TCP' }], listener: egressListenerRef() }]
        : [
            { ports: [{ port: '80', protocol: 'TCP' }], listener: egressListenerRef() },
            { ports: [{ port: '443', protocol: 'TCP' }] },
          ];
    const names = hosts.filter((h) => !isIp(h));
    const ips = hosts.filter(isIp);
    if (names.length > 0) rules.push({ toFQDNs: names.map((matchName) => ({ matchName })), toPorts });
    if (ips.length > 0) {
      rules.push({ toCIDR: ips.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)), toPorts });
    }
  }
  return rules;
}

export function networkPolicy(input: CiliumRenderInput): KubernetesObject {
  const dns = {
    toEndpoints: [{ matchLabels: { ...(input.dnsSelector ?? DEFAULT_DNS_SELECTOR) } }],
    toPorts: [
      {
        ports: [
          { port: '53', protocol: 'UDP' },
          { port: '53', protocol: 'TCP' },
        ],
        rules: { dns: [{ matchPattern: '*' }] },
      },
    ],
  };
  const managed = {
    toEndpoints: [managedSelector()],
    toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }], listener: egressListenerRef() }],
  };
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: { name: NETWORK_POLICY, labels: { ...RENDERED_LABELS } },
    spec: {
      description:
        'casa-node-agent: egress of pods in namespaces labelled casa.io/injection=enabled goes through the CASA gate',
      endpointSelector: managedSelector(),
      egress: [dns, managed, ...llmRules(input)],
    },
  };
}
