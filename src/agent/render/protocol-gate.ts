// The node-local protocol gate the agent serves over ECDS: an Envoy RBAC
// filter in front of ext_authz, derived from the managed pods on this node.
//
// It is a coarse, cheap pre-filter and must never be stricter than the
// ext_authz gate, which stays authoritative (ARCHITECTURE.md §3 table):
//   - a local `mcp_server` may use nothing outbound → its requests stop here;
//   - a local `agent` or `client` may only use MCP, A2A and LLM egress, which
//     all use GET, POST or DELETE → other methods (PUT, PATCH, CONNECT, TRACE…)
//     stop here; paths are left to ext_authz, whose patterns are configurable;
//   - on the L7 LB listener an unmanaged caller may reach any MAS Service (a
//     `client` app accepts anything inbound), so it is not restricted here;
//   - on the egress listener every caller is a managed pod (the network policy
//     selects them), so an address the agent does not know yet is denied, as
//     ext_authz would deny it (`unknown_workload`).
// Until the agent answers, the filter's ECDS default denies everything.
import type { AppType, MultiAgentSystem, Workload } from '../../policy/types.js';
import { type EnvoyJson, TYPE } from './envoy-resources.js';
import { cmp } from './envoy-routes.js';
import { EGRESS_GATE_FILTER, L7LB_GATE_FILTER } from './names.js';

/** Methods MCP (all revisions), A2A (all bindings) and LLM APIs use. */
export const GATE_METHODS = ['DELETE', 'GET', 'POST'] as const;

export interface ProtocolGateInput {
  /** Managed pods on this node (WorkloadDirectory.localWorkloads()). */
  readonly workloads: readonly Workload[];
  /** Known MASes; reserved for destination-aware rules, not needed today. */
  readonly multiAgentSystems?: readonly MultiAgentSystem[];
}

function cidr(ip: string): EnvoyJson {
  return { address_prefix: ip, prefix_len: ip.includes(':') ? 128 : 32 };
}

function ipsByType(workloads: readonly Workload[]): Map<AppType, string[]> {
  const out = new Map<AppType, Set<string>>();
  for (const w of workloads) {
    const set = out.get(w.type) ?? new Set<string>();
    for (const ip of w.ips) set.add(ip);
    out.set(w.type, set);
  }
  return new Map([...out].map(([t, ips]) => [t, [...ips].sort(cmp)]));
}

function anyOfSources(ips: readonly string[]): EnvoyJson {
  return { or_ids: { ids: ips.map((ip) => ({ direct_remote_ip: cidr(ip) })) } };
}

function gateMethods(): EnvoyJson {
  return {
    or_rules: {
      rules: GATE_METHODS.map((m) => ({ header: { name: ':method', string_match: { exact: m } } })),
    },
  };
}

/** Policies for local agents and clients: protocol methods only. */
function outboundPolicies(byType: Map<AppType, string[]>): Record<string, EnvoyJson> {
  const policies: Record<string, EnvoyJson> = {};
  for (const type of ['agent', 'client'] as const) {
    const ips = byType.get(type) ?? [];
    if (ips.length === 0) continue;
    policies[`outbound-${type}`] = { permissions: [gateMethods()], principals: [anyOfSources(ips)] };
  }
  return policies;
}

function rbacConfig(name: string, policies: Record<string, EnvoyJson>): EnvoyJson {
  const sorted = Object.fromEntries(Object.entries(policies).sort(([a], [b]) => cmp(a, b)));
  return {
    '@type': TYPE.typedExtensionConfig,
    name,
    typed_config: { '@type': TYPE.rbac, rules: { action: 'ALLOW', policies: sorted } },
  };
}

/** ECDS resource for the egress listener's gate. */
export function egressGateConfig(input: ProtocolGateInput): EnvoyJson {
  return rbacConfig(EGRESS_GATE_FILTER, outboundPolicies(ipsByType(input.workloads)));
}

/** ECDS resource for the L7 LB listener's gate. */
export function l7lbGateConfig(input: ProtocolGateInput): EnvoyJson {
  const byType = ipsByType(input.workloads);
  const managed = [...new Set([...byType.values()].flat())].sort(cmp);
  const policies = outboundPolicies(byType);
  policies['unmanaged-source'] = {
    permissions: [{ any: true }],
    principals: [managed.length === 0 ? { any: true } : { not_id: anyOfSources(managed) }],
  };
  return rbacConfig(L7LB_GATE_FILTER, policies);
}

/** Both gate configs, in a stable order (what the agent's ECDS snapshot holds). */
export function protocolGateConfigs(input: ProtocolGateInput): EnvoyJson[] {
  return [egressGateConfig(input), l7lbGateConfig(input)];
}
