// Every Kubernetes object the renderer emits is accepted by a real
// kube-apiserver with the real Cilium and CASA CRDs (server-side apply, strict
// field validation), applying twice changes nothing, and broken objects are
// refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/agent/config/load.js';
import { packageRoot } from '../../../src/agent/paths.js';
import { renderCilium } from '../../../src/agent/render/cilium.js';
import type { KubernetesObject } from '../../../src/agent/render/kubernetes-object.js';
import { readManifests } from '../../../src/agent/render/manifests.js';
import type { MultiAgentSystem } from '../../../src/policy/types.js';
import { useKube } from '../../harness/kube.js';

const fixture = useKube();

const config = loadConfig({ flags: {}, env: {} });
const example = readManifests([join(packageRoot(), 'cilium/example/multiagentsystem.yaml')]);

function variants(): [string, KubernetesObject[]][] {
  const withPortedLlm: MultiAgentSystem = {
    ref: { namespace: 'b', name: 'b' },
    llmHost: 'llm.internal:4000',
    apps: [{ name: 'c', type: 'client', baseUrl: { host: 'ui.b.svc:3000', scheme: 'http' } }],
  };
  const withIpLlm: MultiAgentSystem = { ref: { namespace: 'c', name: 'c' }, llmHost: 'fd00::10', apps: [] };
  return [
    ['no MAS (what the chart installs)', renderCilium({ config, multiAgentSystems: [] })],
    ['the example MAS', renderCilium({ config, multiAgentSystems: example.multiAgentSystems })],
    [
      'several MASes, ported and IP llm hosts, custom settings',
      renderCilium({
        config: loadConfig({
          flags: { authzListen: '0.0.0.0:7001', xdsListen: '[::1]:7002', checkTimeout: '250ms' },
          env: {},
        }),
        multiAgentSystems: [...example.multiAgentSystems, withPortedLlm, withIpLlm],
        envoy: { xdsApiType: 'DELTA_GRPC' },
      }),
    ],
  ];
}

describe('rendered objects are accepted by the real CRDs', { skip: fixture.skip }, () => {
  for (const [name, objects] of variants()) {
    it(name, async () => {
      for (const obj of objects) {
        const r = await fixture.kube.apply(obj);
        assert.ok(
          r.status === 200 || r.status === 201,
          `${obj.kind}/${obj.metadata.name}: ${r.status} ${JSON.stringify(r.body)}`,
        );
      }
    });
  }

  it('applying the same objects again changes nothing (stable output)', async () => {
    const objects = renderCilium({ config, multiAgentSystems: example.multiAgentSystems });
    const versions = async () => {
      const out: string[] = [];
      for (const obj of objects) {
        const r = await fixture.kube.apply(obj);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        out.push((r.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
      }
      return out;
    };
    const first = await versions();
    const again = await versions();
    assert.deepEqual(again, first);
  });

  it('the example MultiAgentSystem itself is accepted by the shipped CASA CRD', async () => {
    const ns = await fixture.kube.request('POST', '/api/v1/namespaces', { metadata: { name: 'travel' } });
    assert.ok(ns.status === 201 || ns.status === 409);
    const mas = parse(readFileSync(join(packageRoot(), 'cilium/example/multiagentsystem.yaml'), 'utf8'));
    const r = await fixture.kube.apply(mas);
    assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.body));
  });
});

describe('broken objects are refused', { skip: fixture.skip }, () => {
  const good = () =>
    JSON.parse(JSON.stringify(renderCilium({ config, multiAgentSystems: example.multiAgentSystems }))) as {
      kind: string;
      metadata: { name: string };
      spec: Record<string, unknown>;
    }[];
  type Policy = KubernetesObject & {
    spec: { egress: { toPorts: { listener?: Record<string, unknown> }[] }[] };
  };
  const policy = () => good().find((o) => o.kind === 'CiliumClusterwideNetworkPolicy') as unknown as Policy;
  /** The listener reference of the rule towards managed pods. */
  const listenerOf = (p: Policy): Record<string, unknown> => {
    const l = p.spec.egress[1]?.toPorts[0]?.listener;
    assert.ok(l, 'the managed-pods rule has a listener');
    return l;
  };
  const cases: [string, () => KubernetesObject, RegExp][] = [
    [
      'a listener reference without the listener name',
      () => {
        const p = policy();
        delete listenerOf(p).name;
        return p;
      },
      /listener\.name: Required value/,
    ],
    [
      'a listener priority of 0',
      () => {
        const p = policy();
        listenerOf(p).priority = 0;
        return p;
      },
      /priority/,
    ],
    [
      'an envoyConfig kind that does not exist',
      () => {
        const p = policy();
        listenerOf(p).envoyConfig = { kind: 'EnvoyConfig', name: 'casa-node-agent-egress' };
        return p;
      },
      /kind: Unsupported value/,
    ],
    [
      'a misspelled field (strict validation)',
      () => {
        const p = policy() as unknown as { spec: Record<string, unknown> };
        p.spec.egres = p.spec.egress;
        return p as unknown as KubernetesObject;
      },
      /unknown field .{0,3}spec\.egres/,
    ],
    [
      'an envoy config without resources',
      () => {
        const c = good()[0] as { spec: Record<string, unknown> };
        delete c.spec.resources;
        return c as unknown as KubernetesObject;
      },
      /resources: Required value/,
    ],
  ];
  for (const [name, make, want] of cases) {
    it(name, async () => {
      const obj = make();
      // Create, so the API answers with its validation message (server-side apply reports unknown
      // fields as a 500 from the typed patch instead).
      const kube = fixture.kube;
      const r = await kube.request(
        'POST',
        `${kube.resourcePath({ ...obj, metadata: { namespace: obj.metadata.namespace } })}?fieldValidation=Strict`,
        { ...obj, metadata: { ...obj.metadata, name: `broken-${Date.now()}` } },
      );
      assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${JSON.stringify(r.body)}`);
      assert.match(JSON.stringify(r.body), want);
    });
  }
});
