// Every Envoy resource the renderer emits — in the envoy configs and served by
// the agent over RDS/ECDS — passes Envoy's own validation rules (go-control-plane
// ValidateAll, nested typed_config included), through tools/envoy-validate
// built by scripts/peers.sh. Cilium drops a resource that fails them with only
// a log line, so this is the stand-in for Envoy accepting our config.
//
// Interface used: the JSON array of `@type`-tagged resources on stdin; exit 0
// when every one is valid, non-zero with the problems otherwise. A broken
// resource is checked too, so a validator that accepts everything fails here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/agent/config/load.js';
import { packageRoot } from '../../../src/agent/paths.js';
import { renderCilium } from '../../../src/agent/render/cilium.js';
import type { EnvoyJson } from '../../../src/agent/render/envoy-resources.js';
import { readManifests } from '../../../src/agent/render/manifests.js';
import { servedResources } from '../../../src/agent/render/served-resources.js';
import type { Workload } from '../../../src/policy/types.js';
import { requirePeer } from '../../harness/peers.js';

// Off CI a missing validator skips the suite (with the reason); in CI it fails the file.
const validator = requirePeer('envoy-validate');

function validate(resources: readonly unknown[]): { code: number | null; output: string } {
  const r = spawnSync(validator.path, [], {
    input: JSON.stringify(resources),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

function workload(type: Workload['type'], ips: string[]): Workload {
  return {
    kind: 'pod',
    mas: { namespace: 'travel', name: 'travel-planner' },
    app: { name: type, type },
    type,
    appId: type,
    namespace: 'travel',
    podName: `${type}-0`,
    podUid: `${type}-uid`,
    ips,
  };
}

const example = readManifests([
  join(packageRoot(), 'cilium/example/multiagentsystem.yaml'),
]).multiAgentSystems;

function envoyConfigResources(objects: ReturnType<typeof renderCilium>): EnvoyJson[] {
  return objects
    .filter((o) => o.kind === 'CiliumClusterwideEnvoyConfig')
    .flatMap((o) => (o.spec as { resources: EnvoyJson[] }).resources);
}

describe("rendered Envoy resources pass Envoy's validation rules", { skip: validator.skip }, () => {
  const variants: [string, EnvoyJson[]][] = [
    [
      'envoy configs, default settings',
      envoyConfigResources(
        renderCilium({ config: loadConfig({ flags: {}, env: {} }), multiAgentSystems: example }),
      ),
    ],
    [
      'envoy configs, custom settings and delta xDS',
      envoyConfigResources(
        renderCilium({
          config: loadConfig({
            flags: {
              authzListen: '[::1]:7001',
              xdsListen: '0.0.0.0:7002',
              checkTimeout: '50ms',
              maxRequestBytes: '1024',
            },
            env: {},
          }),
          multiAgentSystems: example,
          envoy: { xdsApiType: 'DELTA_GRPC', initialFetchTimeoutMs: 1000, connectTimeoutMs: 250 },
        }),
      ),
    ],
    [
      'envoy configs, no MAS (the chart)',
      envoyConfigResources(
        renderCilium({ config: loadConfig({ flags: {}, env: {} }), multiAgentSystems: [] }),
      ),
    ],
    [
      'RDS and ECDS served by the agent',
      (() => {
        const served = servedResources({
          workloads: [
            workload('agent', ['10.0.0.1', 'fd00::1']),
            workload('client', ['10.0.0.2']),
            workload('mcp_server', ['10.0.0.3']),
          ],
          multiAgentSystems: example,
          services: [
            {
              namespace: 'travel',
              name: 'planner',
              ports: [{ port: 8080 }],
              clusterIps: ['10.96.0.10', 'fd00::a'],
            },
            { namespace: 'travel', name: 'hotels-mcp', ports: [{ port: 80 }], clusterIps: ['10.96.0.11'] },
          ],
        });
        return [...served.routes, ...served.extensionConfigs];
      })(),
    ],
    [
      'RDS and ECDS with no workloads and no Services',
      (() => {
        const served = servedResources({ workloads: [], multiAgentSystems: [] });
        return [...served.routes, ...served.extensionConfigs];
      })(),
    ],
  ];
  for (const [name, resources] of variants) {
    it(name, () => {
      assert.ok(resources.length > 0);
      const r = validate(resources);
      assert.equal(r.code, 0, r.output);
    });
  }

  it('a resource that breaks a rule is refused (the check can fail)', () => {
    const [listener] = envoyConfigResources(
      renderCilium({ config: loadConfig({ flags: {}, env: {} }), multiAgentSystems: [] }),
    );
    const broken = JSON.parse(
      JSON.stringify(listener).replace('"max_request_bytes":60000', '"max_request_bytes":0'),
    );
    const r = validate([broken]);
    assert.notEqual(r.code, 0, `accepted max_request_bytes 0: ${r.output}`);
    assert.match(r.output, /max_?request_?bytes/i);
  });
});
