// RDS route configurations the agent serves: qualified names, clusters as
// Envoy knows them, unique domains, no route timeout on streams.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderCilium } from '../../../src/agent/render/cilium.js';
import {
  egressRouteConfiguration,
  l7lbRouteConfiguration,
  serviceDomains,
} from '../../../src/agent/render/envoy-routes.js';
import { servedResources } from '../../../src/agent/render/served-resources.js';
import { defaultConfig, dig, type J, mas, workload } from './fixtures.js';

describe('egress routes', () => {
  const rc = egressRouteConfiguration();
  it('are named as Cilium qualified the rds name', () =>
    assert.equal(rc.name, '/casa-node-agent-egress/egress-routes'));
  it('send everything to the qualified original-destination cluster without a route timeout', () => {
    assert.deepEqual(dig(rc, 'virtual_hosts.0.routes.0.route'), {
      cluster: '/casa-node-agent-egress/original-dst',
      timeout: '0s',
    });
  });
  it('tell ext_authz which listener asked', () => {
    const pf = dig(rc, 'virtual_hosts.0.typed_per_filter_config') as J;
    assert.deepEqual(dig(pf['envoy.filters.http.ext_authz'], 'check_settings.context_extensions'), {
      casa_listener: 'egress',
    });
  });
});

describe('L7 LB routes', () => {
  const svc = { namespace: 'travel', name: 'planner', port: 8080, clusterIps: ['10.0.0.7'] };
  it('match every DNS spelling and the VIP, with the port', () => {
    assert.deepEqual(serviceDomains(svc), [
      'planner:8080',
      'planner.travel:8080',
      'planner.travel.svc:8080',
      'planner.travel.svc.cluster.local:8080',
      '10.0.0.7:8080',
    ]);
  });
  it('port 80 also matches without the port; IPv6 VIPs are bracketed', () => {
    const d = serviceDomains({ ...svc, port: 80, clusterIps: ['fd00::7'] });
    assert.ok(d.includes('planner.travel'));
    assert.ok(d.includes('[fd00::7]:80'));
    assert.ok(d.includes('[fd00::7]'));
  });
  it('route each Service port to its Cilium EDS cluster', () => {
    const rc = l7lbRouteConfiguration([svc]);
    assert.equal(rc.name, '/casa-node-agent-l7lb/l7lb-routes');
    assert.equal(dig(rc, 'virtual_hosts.0.routes.0.route.cluster'), 'travel/planner:8080');
  });
  it('drop a short name two namespaces share (Envoy refuses duplicate domains)', () => {
    const rc = l7lbRouteConfiguration([svc, { ...svc, namespace: 'other', clusterIps: ['10.0.0.8'] }]);
    const all = (rc.virtual_hosts as J[]).flatMap((v) => v.domains as string[]);
    assert.equal(new Set(all).size, all.length);
    assert.ok(!all.includes('planner:8080'));
    assert.ok(all.includes('planner.other:8080') && all.includes('planner.travel:8080'));
  });
  it('answer 421 for a Host that names no Service, last', () => {
    const rc = l7lbRouteConfiguration([svc]);
    const last = (rc.virtual_hosts as J[]).at(-1) as J;
    assert.deepEqual(last.domains, ['*']);
    assert.equal(dig(last, 'routes.0.direct_response.status'), 421);
  });
  it('are independent of input order', () => {
    const other = { namespace: 'a', name: 'b', port: 80, clusterIps: [] };
    assert.deepEqual(l7lbRouteConfiguration([svc, other]), l7lbRouteConfiguration([other, svc]));
  });
});

describe('servedResources: what the agent serves over RDS and ECDS', () => {
  it('names match what the rendered listeners ask for', () => {
    const served = servedResources({
      workloads: [workload('agent', ['10.0.0.1'])],
      multiAgentSystems: [mas()],
      services: [
        { namespace: 'travel', name: 'planner', ports: [{ port: 8080 }], clusterIps: ['10.96.0.10'] },
      ],
    });
    const text = JSON.stringify(renderCilium({ config: defaultConfig(), multiAgentSystems: [mas()] }));
    const asked = [...text.matchAll(/"route_config_name":"([^"]+)"/g)].map(
      (m) => `/${m[1]?.startsWith('egress') ? 'casa-node-agent-egress' : 'casa-node-agent-l7lb'}/${m[1]}`,
    );
    assert.deepEqual(served.routes.map((r) => r.name).sort(), [...new Set(asked)].sort());
    const gates = [...text.matchAll(/"name":"(casa\.protocol_gate\.[a-z0-9]+)"/g)].map((m) => m[1]);
    assert.deepEqual(served.extensionConfigs.map((c) => c.name).sort(), [...new Set(gates)].sort());
    // The L7 LB routes point at clusters that exist in the rendered L7 LB config.
    const l7 = served.routes[1] as J;
    const clusters = (l7.virtual_hosts as J[]).map((v) => dig(v, 'routes.0.route.cluster')).filter(Boolean);
    assert.deepEqual(clusters, ['travel/planner:8080']);
    assert.ok(text.includes('"name":"travel/planner:8080"'));
  });
});
