// The Envoy resources in the envoy configs: fail closed, agent reached over
// google_grpc on loopback, field names Envoy knows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  duration,
  egressListener,
  envoySettings,
  extAuthzFilter,
  l7lbListener,
  loopbackTarget,
  originalDstCluster,
  protocolGateFilter,
  serviceCluster,
  TYPE,
} from '../../../src/agent/render/envoy-resources.js';
import { egressRouteConfiguration, l7lbRouteConfiguration } from '../../../src/agent/render/envoy-routes.js';
import { checkEnvoyJson } from '../../support/envoy-json-shape.js';
import { defaultConfig, dig, type J, walk } from './fixtures.js';

const s = envoySettings(defaultConfig());

describe('ext_authz filter fails closed and reaches the agent on loopback', () => {
  const f = extAuthzFilter(s) as J;
  const tc = f.typed_config as J;
  it('is the ext_authz extension', () => {
    assert.equal(f.name, 'envoy.filters.http.ext_authz');
    assert.equal(tc['@type'], TYPE.extAuthz);
  });
  it('failure_mode_allow is false', () => assert.equal(tc.failure_mode_allow, false));
  it('errors answer 403', () => assert.deepEqual(tc.status_on_error, { code: 'Forbidden' }));
  it('uses google_grpc to 127.0.0.1:<authz port> with the check timeout', () => {
    assert.deepEqual(tc.grpc_service, {
      google_grpc: { target_uri: '127.0.0.1:9191', stat_prefix: 'casa_authz' },
      timeout: '5s',
    });
  });
  it('sends the request body as bytes, partial allowed, up to maxRequestBytes', () => {
    assert.deepEqual(tc.with_request_body, {
      max_request_bytes: 60000,
      allow_partial_message: true,
      pack_as_bytes: true,
    });
  });
  it('speaks transport v3', () => assert.equal(tc.transport_api_version, 'V3'));
  it('follows the configured settings', () => {
    const custom = envoySettings(
      defaultConfig({ authzListen: '127.0.0.1:7001', checkTimeout: '250ms', maxRequestBytes: '4096' }),
    );
    const t = extAuthzFilter(custom);
    assert.equal(dig(t, 'typed_config.grpc_service.google_grpc.target_uri'), '127.0.0.1:7001');
    assert.equal(dig(t, 'typed_config.grpc_service.timeout'), '0.25s');
    assert.equal(dig(t, 'typed_config.with_request_body.max_request_bytes'), 4096);
  });
});

describe('the HttpConnectionManager hands gate, ext_authz and app one path', () => {
  for (const [name, l] of [
    ['egress', egressListener(s)],
    ['l7lb', l7lbListener(s)],
  ] as const) {
    const hcm = dig(l, 'filter_chains.0.filters.0.typed_config') as J;
    it(`${name}: dot-segments resolved and // merged before any filter, upstream included`, () => {
      assert.equal(hcm.normalize_path, true);
      assert.equal(hcm.merge_slashes, true);
    });
    it(`${name}: encoded slashes refused before any filter`, () => {
      assert.equal(hcm.path_with_escaped_slashes_action, 'REJECT_REQUEST');
    });
  }
});

describe('loopback targets', () => {
  const cases: [string, number, string][] = [
    ['0.0.0.0', 9191, '127.0.0.1:9191'],
    ['127.0.0.1', 9191, '127.0.0.1:9191'],
    ['::', 9192, '[::1]:9192'],
    ['::1', 9192, '[::1]:9192'],
  ];
  for (const [host, port, want] of cases) {
    it(`${host}:${port} → ${want}`, () => assert.equal(loopbackTarget({ host, port }), want));
  }
});

describe('protocol gate over ECDS denies until the agent answers', () => {
  const cd = dig(protocolGateFilter('casa.protocol_gate.egress', s), 'config_discovery') as J;
  it('default config is an RBAC that allows no policy', () => {
    assert.deepEqual(cd.default_config, { '@type': TYPE.rbac, rules: { action: 'ALLOW', policies: {} } });
  });
  it('waits for the agent instead of applying the default without warming', () => {
    assert.equal(cd.apply_default_config_without_warming, false);
  });
  it('asks only for RBAC configs', () => assert.deepEqual(cd.type_urls, [TYPE.rbac]));
  it('config source is the agent over google_grpc, per-type gRPC, v3', () => {
    assert.deepEqual(dig(cd, 'config_source.api_config_source.grpc_services'), [
      { google_grpc: { target_uri: '127.0.0.1:9192', stat_prefix: 'casa_xds' } },
    ]);
    assert.equal(dig(cd, 'config_source.api_config_source.api_type'), 'GRPC');
    assert.equal(dig(cd, 'config_source.resource_api_version'), 'V3');
  });
});

describe('listeners', () => {
  for (const [name, l] of [
    ['egress', egressListener(s)],
    ['l7lb', l7lbListener(s)],
  ] as [string, J][]) {
    const hcm = dig(l, 'filter_chains.0.filters.0.typed_config') as J;
    it(`${name}: has no address (Cilium assigns the proxy port)`, () => assert.equal(l.address, undefined));
    it(`${name}: filters are gate → ext_authz → router`, () => {
      assert.deepEqual(
        (hcm.http_filters as J[]).map((x) => x.name),
        [`casa.protocol_gate.${name}`, 'envoy.filters.http.ext_authz', 'envoy.filters.http.router'],
      );
    });
    it(`${name}: routes come over RDS from the agent`, () => {
      assert.equal(dig(hcm, 'rds.route_config_name'), `${name}-routes`);
      assert.equal(
        dig(hcm, 'rds.config_source.api_config_source.grpc_services.0.google_grpc.target_uri'),
        '127.0.0.1:9192',
      );
    });
    it(`${name}: never uses envoy_grpc (CDS clusters are refused as config sources)`, () => {
      for (const [path] of walk(l)) assert.ok(!path.endsWith('.envoy_grpc'), path);
    });
  }
});

describe('clusters', () => {
  it('egress forwards to the original destination', () => {
    const c = originalDstCluster(s) as J;
    assert.equal(c.type, 'ORIGINAL_DST');
    assert.equal(c.lb_policy, 'CLUSTER_PROVIDED');
  });
  it('Service clusters are EDS with Cilium names', () => {
    const c = serviceCluster('travel', 'planner', 8080, s) as J;
    assert.equal(c.name, 'travel/planner:8080');
    assert.equal(c.type, 'EDS');
  });
});

describe("every resource matches Envoy's protos", () => {
  const resources: [string, unknown][] = [
    ['egress listener', egressListener(s)],
    ['l7lb listener', l7lbListener(s)],
    ['original-dst cluster', originalDstCluster(s)],
    ['service cluster', serviceCluster('travel', 'planner', 8080, s)],
    ['egress routes', egressRouteConfiguration()],
    [
      'l7lb routes',
      l7lbRouteConfiguration([
        { namespace: 'travel', name: 'planner', port: 80, clusterIps: ['10.0.0.7', 'fd00::7'] },
      ]),
    ],
  ];
  for (const [name, r] of resources) {
    it(name, () => {
      const url = (r as J)['@type'] as string;
      const { '@type': _t, ...rest } = r as J;
      assert.deepEqual(checkEnvoyJson(rest, url), []);
    });
  }
  it('the shape check itself rejects a misspelled field', () => {
    const l = egressListener(s);
    const bad = JSON.parse(JSON.stringify(l).replace('"failure_mode_allow"', '"failure_mode_allowed"')) as J;
    const { '@type': _t, ...rest } = bad;
    const errors = checkEnvoyJson(rest, TYPE.listener);
    assert.equal(errors.length, 1);
    assert.match(
      errors[0] ?? '',
      /failure_mode_allowed: no such field in envoy.extensions.filters.http.ext_authz/,
    );
  });
});

describe('durations', () => {
  it('formats milliseconds as proto3 JSON', () => {
    assert.equal(duration(5000), '5s');
    assert.equal(duration(250), '0.25s');
    assert.equal(duration(0), '0s');
    assert.throws(() => duration(-1), RangeError);
  });
});
