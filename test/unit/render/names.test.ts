// Names: the agent serves RDS/ECDS under the names Envoy asks for, which are the
// names Cilium rewrites (pkg/policy/api ResourceQualifiedName).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { qualifiedName, SERVED_NAMES, serviceClusterName } from '../../../src/agent/render/names.js';

describe('qualifiedName follows Cilium ResourceQualifiedName', () => {
  const cases: [string, string, string, boolean, string][] = [
    // namespace, config, name, force → Envoy name
    ['', 'cfg', 'egress', true, '/cfg/egress'],
    ['', 'cfg', 'egress', false, '/cfg/egress'],
    ['', 'cfg', '/cfg/egress', true, '/cfg/egress'],
    ['', 'cfg', '/other/egress', true, '/other/egress'],
    ['', 'cfg', 'a/b', false, 'a/b'],
    ['', 'cfg', 'a/b', true, '/cfg/a/b'],
    ['ns', 'cfg', 'x', false, 'ns/cfg/x'],
    ['ns', 'cfg', 'ns/x', true, 'ns/x'],
    ['ns', 'cfg', 'nsx/y', true, 'ns/cfg/nsx/y'],
    ['ns', 'cfg', 'other/x', false, 'other/x'],
    ['', 'cfg', '', true, ''],
  ];
  for (const [ns, cfg, name, force, want] of cases) {
    it(`${JSON.stringify(ns)}/${cfg} ${JSON.stringify(name)} force=${force} → ${JSON.stringify(want)}`, () => {
      assert.equal(qualifiedName(ns, cfg, name, force), want);
    });
  }
});

describe('served names are the cluster-wide qualified ones', () => {
  it('routes and listeners get the empty-namespace prefix', () => {
    assert.equal(SERVED_NAMES.egressRoutes, '/casa-node-agent-egress/egress-routes');
    assert.equal(SERVED_NAMES.l7lbRoutes, '/casa-node-agent-l7lb/l7lb-routes');
    assert.equal(SERVED_NAMES.egressListener, '/casa-node-agent-egress/egress');
    assert.equal(SERVED_NAMES.l7lbListener, '/casa-node-agent-l7lb/l7lb');
  });
  it('the original-destination cluster is qualified (it has no slash as written)', () => {
    assert.equal(SERVED_NAMES.originalDstCluster, '/casa-node-agent-egress/original-dst');
  });
  it('ECDS names are the HTTP filter names, which Cilium does not rewrite', () => {
    assert.equal(SERVED_NAMES.egressGate, 'casa.protocol_gate.egress');
    assert.equal(SERVED_NAMES.l7lbGate, 'casa.protocol_gate.l7lb');
  });
  it("Service clusters use Cilium's EDS names", () => {
    assert.equal(serviceClusterName('travel', 'planner', 8080), 'travel/planner:8080');
    assert.equal(serviceClusterName('travel', 'planner'), 'travel/planner');
  });
});
