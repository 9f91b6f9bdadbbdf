// The node-local RBAC gate served over ECDS: never stricter than ext_authz,
// denies what the gate table forbids every time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TYPE } from '../../../src/agent/render/envoy-resources.js';
import {
  egressGateConfig,
  GATE_METHODS,
  l7lbGateConfig,
  protocolGateConfigs,
} from '../../../src/agent/render/protocol-gate.js';
import { checkEnvoyJson } from '../../support/envoy-json-shape.js';
import { dig, type J, workload } from './fixtures.js';

/**
 * A tiny evaluator of the RBAC subset the gate uses (ALLOW action; principals
 * any / direct_remote_ip / or_ids / not_id; permissions any / :method header /
 * or_rules), so the tests state outcomes rather than shapes.
 */
function allowed(config: unknown, source: string, method: string): boolean {
  const rules = dig(config, 'typed_config.rules') as J;
  assert.equal(rules.action, 'ALLOW');
  const principal = (p: J): boolean => {
    if (p.any === true) return true;
    if (p.direct_remote_ip) return (p.direct_remote_ip as J).address_prefix === source;
    if (p.or_ids) return ((p.or_ids as J).ids as J[]).some(principal);
    if (p.not_id) return !principal(p.not_id as J);
    throw new Error(`unexpected principal ${JSON.stringify(p)}`);
  };
  const permission = (p: J): boolean => {
    if (p.any === true) return true;
    if (p.header)
      return dig(p, 'header.name') === ':method' && dig(p, 'header.string_match.exact') === method;
    if (p.or_rules) return ((p.or_rules as J).rules as J[]).some(permission);
    throw new Error(`unexpected permission ${JSON.stringify(p)}`);
  };
  return Object.values(rules.policies as Record<string, J>).some(
    (pol) => (pol.principals as J[]).some(principal) && (pol.permissions as J[]).some(permission),
  );
}

const workloads = [
  workload('agent', ['10.0.0.1', 'fd00::1'], 'planner'),
  workload('client', ['10.0.0.2'], 'ui'),
  workload('mcp_server', ['10.0.0.3'], 'flights'),
];

describe('egress gate (every caller is a managed pod)', () => {
  const cfg = egressGateConfig({ workloads });
  const cases: [string, string, string, boolean][] = [
    ['agent POST', '10.0.0.1', 'POST', true],
    ['agent (IPv6) GET', 'fd00::1', 'GET', true],
    ['agent DELETE (MCP session end)', '10.0.0.1', 'DELETE', true],
    ['agent PUT is no MCP/A2A/LLM method', '10.0.0.1', 'PUT', false],
    ['agent CONNECT', '10.0.0.1', 'CONNECT', false],
    ['client POST', '10.0.0.2', 'POST', true],
    ['mcp_server may use nothing outbound', '10.0.0.3', 'POST', false],
    ['mcp_server GET', '10.0.0.3', 'GET', false],
    ['an address the agent does not know yet', '10.0.0.99', 'POST', false],
  ];
  for (const [name, ip, method, want] of cases) {
    it(`${name} → ${want ? 'allow' : 'deny'}`, () => assert.equal(allowed(cfg, ip, method), want));
  }
  it('with no local workloads it denies everything', () => {
    assert.equal(allowed(egressGateConfig({ workloads: [] }), '10.0.0.1', 'POST'), false);
  });
});

describe('L7 LB gate (callers may be unmanaged)', () => {
  const cfg = l7lbGateConfig({ workloads });
  const cases: [string, string, string, boolean][] = [
    ['unmanaged caller, any method (a client app accepts anything)', '10.9.9.9', 'PUT', true],
    ['agent POST', '10.0.0.1', 'POST', true],
    ['agent PATCH', '10.0.0.1', 'PATCH', false],
    ['local mcp_server calling a Service', '10.0.0.3', 'GET', false],
  ];
  for (const [name, ip, method, want] of cases) {
    it(`${name} → ${want ? 'allow' : 'deny'}`, () => assert.equal(allowed(cfg, ip, method), want));
  }
  it('with no local workloads every caller is unmanaged', () => {
    assert.equal(allowed(l7lbGateConfig({ workloads: [] }), '10.0.0.1', 'POST'), true);
  });
});

describe('gate configs as ECDS resources', () => {
  const configs = protocolGateConfigs({ workloads });
  it('are TypedExtensionConfigs named like the listeners ask', () => {
    assert.deepEqual(
      configs.map((c) => c.name),
      ['casa.protocol_gate.egress', 'casa.protocol_gate.l7lb'],
    );
    for (const c of configs) assert.equal(c['@type'], TYPE.typedExtensionConfig);
  });
  it("match Envoy's protos", () => {
    for (const c of configs) {
      const { '@type': t, ...rest } = c;
      assert.deepEqual(checkEnvoyJson(rest, String(t)), []);
    }
  });
  it('the methods are those MCP, A2A and LLM APIs use', () => {
    assert.deepEqual([...GATE_METHODS], ['DELETE', 'GET', 'POST']);
  });
  it('are stable for the same workloads in another order', () => {
    assert.deepEqual(protocolGateConfigs({ workloads: [...workloads].reverse() }), configs);
  });
});
