// --dataplane auto: Cilium's envoy-config API first, then Istio's; neither is
// an error naming what to install or set; with the file inventory the
// manifests folder decides, else cilium with the reason stated.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../../src/agent/config/load.js';
import {
  type ApiDiscovery,
  chooseDataplane,
  fromDiscovery,
  fromManifests,
} from '../../../src/agent/istio/dataplane.js';

/** Discovery as an apiserver with these group versions and resources would answer. */
function served(apis: Record<string, string[]>): ApiDiscovery & { asked: string[] } {
  const asked: string[] = [];
  return {
    server: 'https://test:6443',
    asked,
    async resources(group, version) {
      asked.push(`${group}/${version}`);
      return apis[`${group}/${version}`];
    },
  };
}

const CILIUM = { 'cilium.io/v2': ['ciliumclusterwideenvoyconfigs', 'ciliumnetworkpolicies'] };
const ISTIO_NET = { 'networking.istio.io/v1alpha3': ['envoyfilters', 'sidecars'] };
const ISTIO_SEC = { 'security.istio.io/v1': ['authorizationpolicies', 'peerauthentications'] };

describe('auto against API discovery', () => {
  const rows: [string, Record<string, string[]>, 'cilium' | 'istio', RegExp][] = [
    ['Cilium only', CILIUM, 'cilium', /cilium\.io\/v2 ciliumclusterwideenvoyconfigs/],
    ['Cilium and Istio: Cilium first', { ...CILIUM, ...ISTIO_NET, ...ISTIO_SEC }, 'cilium', /cilium\.io/],
    ['Istio EnvoyFilter API only', ISTIO_NET, 'istio', /networking\.istio\.io\/v1alpha3 envoyfilters/],
    [
      'Istio AuthorizationPolicy API only',
      ISTIO_SEC,
      'istio',
      /security\.istio\.io\/v1 authorizationpolicies/,
    ],
    [
      'cilium.io/v2 without the envoy-config CRD (policies only) and Istio: Istio',
      { 'cilium.io/v2': ['ciliumnetworkpolicies'], ...ISTIO_NET },
      'istio',
      /and not cilium\.io\/v2 ciliumclusterwideenvoyconfigs/,
    ],
  ];
  for (const [name, apis, mode, why] of rows) {
    it(name, async () => {
      const c = await fromDiscovery(served(apis));
      assert.equal(c.mode, mode);
      assert.match(c.why, /^auto: https:\/\/test:6443 serves /);
      assert.match(c.why, why);
    });
  }

  it('neither: a ConfigError on the dataplane field naming both APIs and the way out', async () => {
    await assert.rejects(fromDiscovery(served({ 'apps/v1': ['deployments'] })), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.field, 'dataplane');
      assert.match(err.message, /ciliumclusterwideenvoyconfigs/);
      assert.match(err.message, /envoyfilters/);
      assert.match(err.message, /--dataplane cilium\|istio/);
      return true;
    });
  });

  it('a discovery failure is not mistaken for "not installed"', async () => {
    const broken: ApiDiscovery = {
      server: 'x',
      resources: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    await assert.rejects(fromDiscovery(broken), /ECONNREFUSED/);
  });

  it('a configured data plane asks nothing', async () => {
    const d = served(CILIUM);
    const c = await chooseDataplane({ configured: 'istio', inventory: 'kubernetes', discovery: () => d });
    assert.deepEqual(c, { mode: 'istio', why: 'dataplane=istio (configured)' });
    assert.deepEqual(d.asked, []);
  });
});

describe('auto with the file inventory reads the manifests folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'casa-dataplane-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  function folder(files: Record<string, string>): string {
    const dir = join(root, String(n++));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }
  const crd = (name: string) =>
    `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: ${name}}\n`;
  const MAS = 'apiVersion: casa.io/v1alpha1\nkind: MultiAgentSystem\nmetadata: {name: m, namespace: ns}\n';

  const rows: [string, Record<string, string>, 'cilium' | 'istio', RegExp][] = [
    [
      'an Istio CRD',
      { 'crds.yaml': crd('envoyfilters.networking.istio.io'), 'mas.yaml': MAS },
      'istio',
      /CRD envoyfilters\.networking\.istio\.io/,
    ],
    [
      'an Istio object',
      { 'ap.yaml': 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\n' },
      'istio',
      /AuthorizationPolicy x/,
    ],
    [
      'both CRDs: Cilium first',
      {
        'a.yaml': `${crd('envoyfilters.networking.istio.io')}---\n${crd('ciliumclusterwideenvoyconfigs.cilium.io')}`,
      },
      'cilium',
      /ciliumclusterwideenvoyconfigs\.cilium\.io/,
    ],
    [
      'neither: cilium, saying so',
      { 'mas.yaml': MAS, 'broken.yaml': 'a: [' },
      'cilium',
      /no Cilium or Istio CRD or object in .*; using cilium/,
    ],
  ];
  for (const [name, files, mode, why] of rows) {
    it(name, async () => {
      const dir = folder(files);
      const c = await chooseDataplane({ configured: 'auto', inventory: 'file', manifests: dir });
      assert.equal(c.mode, mode);
      assert.match(c.why, why);
    });
  }
  it('an unreadable folder: a ConfigError naming manifests', () => {
    assert.throws(
      () => fromManifests(join(root, 'no-such-folder')),
      (e: unknown) => e instanceof ConfigError && e.field === 'manifests',
    );
  });
  it('no folder at all: cilium, saying so', () => {
    assert.match(fromManifests(undefined).why, /no manifests folder/);
  });
});
