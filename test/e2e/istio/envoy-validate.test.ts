// The Envoy resources inside every rendered EnvoyFilter — the ext_authz
// HttpFilter of each sidecar context and the cluster of each agent port —
// pass Envoy's own validation rules (go-control-plane ValidateAll, nested
// typed_config included) through tools/envoy-validate. istiod turns each
// patch value into exactly these messages (HttpFilter, Cluster); a value that
// fails them is rejected when the sidecar's config is built. Broken values
// are checked too, so a validator that accepts everything fails here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/agent/config/load.js';
import type { KubernetesObject } from '../../../src/agent/render/index.js';
import { renderIstio } from '../../../src/agent/render/istio.js';
import type { MultiAgentSystem } from '../../../src/policy/types.js';
import { requirePeer } from '../../harness/peers.js';

const validator = requirePeer('envoy-validate');

const TYPE_OF: Record<string, string> = {
  HTTP_FILTER: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter',
  CLUSTER: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
};

interface Patch {
  applyTo: string;
  patch: { value: Record<string, unknown> };
}

/** Each patch value of the EnvoyFilters, tagged with the Envoy type istiod builds from it. */
function patchResources(objects: readonly KubernetesObject[]): Record<string, unknown>[] {
  return objects
    .filter((o) => o.kind === 'EnvoyFilter')
    .flatMap((o) => (o.spec as { configPatches: Patch[] }).configPatches)
    .map((p) => {
      const type = TYPE_OF[p.applyTo];
      assert.ok(type, `patch applied to ${p.applyTo}: no Envoy type known`);
      return { '@type': type, ...p.patch.value };
    });
}

function validate(resources: readonly unknown[]): { code: number | null; output: string } {
  const r = spawnSync(validator.path, ['-'], {
    input: JSON.stringify(resources),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

const mas: MultiAgentSystem[] = [
  { ref: { namespace: 'travel', name: 'travel' }, apps: [] },
  { ref: { namespace: 'shop', name: 'shop' }, apps: [] },
];
const render = (flags: Record<string, string>) =>
  renderIstio({ config: loadConfig({ flags, env: {} }), multiAgentSystems: mas });

describe("EnvoyFilter patch values pass Envoy's validation rules", { skip: validator.skip }, () => {
  const variants: [string, Record<string, string>, number][] = [
    ['both sides (envoyfilter attachment), default settings', {}, 8],
    ['outbound only (authorizationpolicy attachment)', { istioAttachment: 'authorizationpolicy' }, 4],
    [
      'custom Service, one shared port, short timeout, small bodies',
      {
        istioService: 'agent.ops.svc.example.internal',
        istioInboundListen: '0.0.0.0:7100',
        istioOutboundListen: '0.0.0.0:7100',
        checkTimeout: '50ms',
        maxRequestBytes: '1024',
      },
      8,
    ],
  ];
  for (const [name, flags, count] of variants) {
    it(name, () => {
      const resources = patchResources(render(flags));
      assert.equal(resources.length, count);
      const r = validate(resources);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, new RegExp(`${count} resources, 0 invalid`));
    });
  }

  const base = () => patchResources(render({}));
  const broken: [string, (rs: Record<string, unknown>[]) => unknown[], RegExp][] = [
    [
      'a body limit of 0',
      (rs) => [
        JSON.parse(JSON.stringify(rs[0]).replace('"max_request_bytes":60000', '"max_request_bytes":0')),
      ],
      /max_request_bytes/,
    ],
    [
      'an ext_authz field that does not exist',
      (rs) => [
        JSON.parse(JSON.stringify(rs[0]).replace('"transport_api_version"', '"transport_api_versions"')),
      ],
      /transport_api_versions/,
    ],
    [
      'a cluster with a port out of range',
      (rs) => [JSON.parse(JSON.stringify(rs[2]).replace('"port_value":4100', '"port_value":70000'))],
      /port_value/,
    ],
    ['a cluster without a name', (rs) => [{ ...rs[2], name: '' }], /name/i],
  ];
  for (const [name, breakIt, reason] of broken) {
    it(`refuses ${name}`, () => {
      const r = validate(breakIt(base()));
      assert.notEqual(r.code, 0, `accepted: ${r.output}`);
      assert.match(r.output, reason);
    });
  }
});
