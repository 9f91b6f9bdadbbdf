// Every Istio object the renderer emits is accepted by a real kube-apiserver
// with Istio's real CRDs (EnvoyFilter networking.istio.io/v1alpha3,
// AuthorizationPolicy security.istio.io/v1, schemas and CEL rules included)
// through a strict server-side apply; applying again changes nothing; broken
// objects are refused, so the check can fail.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/agent/config/load.js';
import { packageRoot } from '../../../src/agent/paths.js';
import type { KubernetesObject } from '../../../src/agent/render/index.js';
import { renderIstio } from '../../../src/agent/render/istio.js';
import { readManifests } from '../../../src/agent/render/manifests.js';
import { defaultCrdDir, useKube } from '../../harness/kube.js';

// Only Istio's CRDs: nothing else could be what accepts the objects.
const crdDir = mkdtempSync(join(tmpdir(), 'casa-istio-crds-'));
for (const f of ['istio-envoyfilters.yaml', 'istio-authorizationpolicies.yaml']) {
  copyFileSync(join(defaultCrdDir(), f), join(crdDir, f));
}
after(() => rmSync(crdDir, { recursive: true, force: true }));
const fixture = useKube({ crdDir });

const example = readManifests([
  join(packageRoot(), 'cilium/example/multiagentsystem.yaml'),
]).multiAgentSystems;
const namespaces = [...new Set(example.map((m) => m.ref.namespace))];

const PLURAL: Record<string, string> = {
  EnvoyFilter: 'envoyfilters',
  AuthorizationPolicy: 'authorizationpolicies',
};
function path(o: KubernetesObject): string {
  return `/apis/${o.apiVersion}/namespaces/${o.metadata.namespace}/${PLURAL[o.kind]}/${o.metadata.name}`;
}
function apply(o: KubernetesObject) {
  return fixture.kube.request(
    'PATCH',
    `${path(o)}?fieldManager=casa-agent&force=true&fieldValidation=Strict`,
    o,
    'application/apply-patch+yaml',
  );
}

const variants: [string, KubernetesObject[]][] = [
  [
    'EnvoyFilter attachment, default settings',
    renderIstio({ config: loadConfig({ flags: {}, env: {} }), multiAgentSystems: example }),
  ],
  [
    'AuthorizationPolicy attachment, custom Service, ports and limits',
    renderIstio({
      config: loadConfig({
        flags: {
          istioAttachment: 'authorizationpolicy',
          istioService: 'agent.ops.svc.example.internal',
          istioInboundListen: '0.0.0.0:7100',
          istioOutboundListen: '0.0.0.0:7100',
          checkTimeout: '50ms',
          maxRequestBytes: '1024',
        },
        env: {},
      }),
      multiAgentSystems: example,
    }),
  ],
];

describe('rendered Istio objects against the real apiserver and Istio CRDs', { skip: fixture.skip }, () => {
  before(async () => {
    for (const name of namespaces) {
      const r = await fixture.kube.request('POST', '/api/v1/namespaces', { metadata: { name } });
      assert.ok(r.status === 201 || r.status === 409, JSON.stringify(r.body));
    }
  });

  for (const [name, objects] of variants) {
    it(`${name}: accepted (strict field validation), and a second apply changes nothing`, async () => {
      assert.ok(objects.length >= namespaces.length);
      for (const o of objects) {
        const r = await apply(o);
        assert.ok(
          r.status === 200 || r.status === 201,
          `${o.kind} ${o.metadata.namespace}/${o.metadata.name}: ${JSON.stringify(r.body)}`,
        );
        const stored = (await fixture.kube.request('GET', path(o))).body as {
          spec: unknown;
          metadata: { resourceVersion: string };
        };
        assert.deepEqual(stored.spec, o.spec, 'stored as rendered: no field pruned by the schema');
        const again = await apply(o);
        assert.equal(
          (again.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
          stored.metadata.resourceVersion,
          'idempotent',
        );
      }
    });
  }

  const [ef] = variants[0]?.[1] ?? [];
  const ap = variants[1]?.[1].find((o) => o.kind === 'AuthorizationPolicy');
  const broken: [string, () => KubernetesObject, RegExp][] = [
    [
      'an EnvoyFilter patch applied to nothing Istio knows',
      () => JSON.parse(JSON.stringify(ef).replace('"applyTo":"HTTP_FILTER"', '"applyTo":"HTTP_FILTERS"')),
      /applyTo|Unsupported value/,
    ],
    [
      'an EnvoyFilter with a field Istio does not have',
      () => ({ ...(ef as KubernetesObject), spec: { ...(ef?.spec as object), priorty: 1 } }),
      /priorty/,
    ],
    [
      'an AuthorizationPolicy action outside the enum',
      () => ({ ...(ap as KubernetesObject), spec: { ...(ap?.spec as object), action: 'MAYBE' } }),
      /action|Unsupported value/,
    ],
    [
      'an AuthorizationPolicy with both selector and targetRef (Istio CEL rule)',
      () => ({
        ...(ap as KubernetesObject),
        spec: {
          ...(ap?.spec as object),
          selector: { matchLabels: { app: 'x' } },
          targetRef: { kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'g' },
        },
      }),
      /only one of targetRefs or selector/,
    ],
  ];
  for (const [name, make, reason] of broken) {
    it(`refuses ${name}`, async () => {
      const o = make();
      const r = await apply({ ...o, metadata: { ...o.metadata, name: 'broken' } });
      assert.ok(r.status >= 400, `accepted: ${JSON.stringify(r.body).slice(0, 300)}`);
      assert.match(JSON.stringify(r.body), reason);
    });
  }
});
