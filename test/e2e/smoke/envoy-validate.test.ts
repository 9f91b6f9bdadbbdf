// envoy-validate (tools/envoy-validate, built by scripts/peers.sh) applies
// Envoy's own rules and can say no, also deep inside nested typed_configs,
// which protoc-gen-validate alone never looks into.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { requirePeer } from '../../harness/peers.js';

const validator = requirePeer('envoy-validate');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function validate(input: string, ...args: string[]): Run {
  const r = spawnSync(validator.path, args, { input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface ListenerKnobs {
  statPrefix?: string;
  maxRequestBytes?: number;
  extAuthzType?: string;
  extAuthzExtra?: Record<string, unknown>;
}

/** A Listener the way the agent's egress config looks: HCM → ext_authz → router. */
function listener(k: ListenerKnobs = {}) {
  return {
    '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
    name: 'casa-smoke',
    address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type':
                'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: k.statPrefix ?? 'casa_smoke',
              rds: {
                route_config_name: 'casa-routes',
                config_source: { ads: {}, resource_api_version: 'V3' },
              },
              http_filters: [
                {
                  name: 'envoy.filters.http.ext_authz',
                  typed_config: {
                    '@type':
                      k.extAuthzType ??
                      'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
                    grpc_service: { envoy_grpc: { cluster_name: 'casa-authz' }, timeout: '0.25s' },
                    transport_api_version: 'V3',
                    failure_mode_allow: false,
                    with_request_body: {
                      max_request_bytes: k.maxRequestBytes ?? 60000,
                      allow_partial_message: true,
                    },
                    ...k.extAuthzExtra,
                  },
                },
                {
                  name: 'envoy.filters.http.router',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                  },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

const HCM_PATH = 'filter_chains[0].filters[0].typed_config<HttpConnectionManager>';

describe("envoy-validate applies Envoy's rules", { skip: validator.skip }, () => {
  it('accepts a valid Listener with an ext_authz filter', () => {
    const r = validate(JSON.stringify(listener()));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, 'ok envoy.config.listener.v3.Listener casa-smoke\n');
  });

  const refused: [string, ListenerKnobs, string][] = [
    [
      'ext_authz with_request_body.max_request_bytes 0 (two typed_configs deep)',
      { maxRequestBytes: 0 },
      `${HCM_PATH}.http_filters[0].typed_config<ExtAuthz>.with_request_body.max_request_bytes: value must be greater than 0`,
    ],
    [
      'an HttpConnectionManager with an empty stat_prefix',
      { statPrefix: '' },
      `${HCM_PATH}.stat_prefix: value length must be at least 1 runes`,
    ],
    [
      'an unknown field inside the ext_authz config',
      { extAuthzExtra: { failure_mode_alow: true } },
      'unknown field "failure_mode_alow"',
    ],
    [
      'an ext_authz config of a type Envoy does not know',
      { extAuthzType: 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzz' },
      'envoy.extensions.filters.http.ext_authz.v3.ExtAuthzz',
    ],
  ];
  for (const [name, knobs, message] of refused) {
    it(`refuses ${name}`, () => {
      const r = validate(JSON.stringify(listener(knobs)));
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.ok(r.stdout.startsWith('FAIL envoy.config.listener.v3.Listener '), r.stdout);
      assert.ok(r.stdout.includes(message), `want ${message}\ngot ${r.stdout}`);
    });
  }

  it('validates every resource of Cilium envoy configs in multi-document YAML, with a JSON report', () => {
    const yaml = [
      'apiVersion: cilium.io/v2',
      'kind: CiliumClusterwideEnvoyConfig',
      'metadata: {name: good}',
      `spec: {resources: [${JSON.stringify(listener())}]}`,
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: other}',
      '---',
      'apiVersion: cilium.io/v2',
      'kind: CiliumEnvoyConfig',
      'metadata: {name: bad, namespace: travel}',
      `spec: {resources: [${JSON.stringify(listener({ maxRequestBytes: 0 }))}]}`,
      '',
    ].join('\n');
    const r = validate(yaml, '--json');
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      resources: { source: string; ok: boolean; errors?: string[] }[];
      skipped: string[];
    };
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.resources.map((x) => [x.source, x.ok]),
      [
        ['stdin#0 CiliumClusterwideEnvoyConfig/good spec.resources[0]', true],
        ['stdin#2 CiliumEnvoyConfig/travel/bad spec.resources[0]', false],
      ],
    );
    assert.match(report.resources[1]?.errors?.join('\n') ?? '', /max_request_bytes/);
    assert.deepEqual(report.skipped, ['stdin#1 ConfigMap/other']);
  });

  it('exits 2 on input it cannot read, and on input without any Envoy resource', () => {
    assert.equal(validate('{"@type": ').code, 2);
    assert.equal(validate('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n').code, 2);
  });
});
