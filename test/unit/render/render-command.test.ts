// `casa-agent render`: reads MAS manifests, prints YAML or a JSON List, and
// names the file and field of bad input (exit 2); --dataplane istio prints the
// Istio objects instead (their content is pinned in test/unit/istio/render.test.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ManifestError, readManifests } from '../../../src/agent/render/manifests.js';

const MAIN = fileURLToPath(new URL('../../../src/agent/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'casa-render-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CASA_')) delete env[k];
  const r = spawnSync(process.execPath, [MAIN, 'render', ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const GOOD = `apiVersion: casa.io/v1alpha1
kind: MultiAgentSystem
metadata: {name: m, namespace: ns}
spec:
  name: M
  llm_host: llm.example.com
  apps:
    - {name: a, type: agent, kubernetesWorkloadName: a, baseUrl: {host: "a.ns:8080", scheme: http}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
`;

describe('render command', () => {
  it('prints the objects as multi-document YAML', () => {
    const r = run(['--mas', file('good.yaml', GOOD)]);
    assert.equal(r.code, 0, r.stderr);
    const kinds = parseAllDocuments(r.stdout).map((d) => (d.toJS() as { kind: string }).kind);
    assert.deepEqual(kinds, [
      'CiliumClusterwideEnvoyConfig',
      'CiliumClusterwideEnvoyConfig',
      'CiliumClusterwideNetworkPolicy',
    ]);
  });
  it('prints a JSON List with --output json', () => {
    const r = run(['--mas', file('good2.yaml', GOOD), '--output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { kind: string; items: unknown[] };
    assert.equal(list.kind, 'List');
    assert.equal(list.items.length, 3);
  });
  it('reads every manifest of --manifests', () => {
    const sub = join(dir, 'folder');
    rmSync(sub, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', sub]);
    writeFileSync(join(sub, 'mas.yaml'), GOOD);
    writeFileSync(
      join(sub, 'svc.yml'),
      'apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: ns}\nspec: {ports: [{port: 9999}]}\n',
    );
    const r = run(['--manifests', sub]);
    assert.equal(r.code, 0, r.stderr);
    // The Service has no port 8080, so the app's Service is not redirected and a warning says why.
    assert.match(r.stderr, /no Service ns\/a with TCP port 8080/);
    assert.doesNotMatch(r.stdout, /^ {2}services:/m);
  });
  it('prints the Istio objects for --dataplane istio, not the Cilium ones', () => {
    const r = run(['--mas', file('good3.yaml', GOOD), '--dataplane', 'istio']);
    assert.equal(r.code, 0, r.stderr);
    const kinds = parseAllDocuments(r.stdout)
      .map((d) => (d.toJS() as { kind?: string } | null)?.kind)
      .filter((k) => k !== undefined);
    assert.ok(kinds.includes('EnvoyFilter'), `kinds: ${kinds.join(', ')}`);
    assert.ok(!kinds.some((k) => k.startsWith('Cilium')), `kinds: ${kinds.join(', ')}`);
    // The meshConfig provider snippet rides along as a comment, never as an object.
    assert.match(r.stdout, /envoyExtAuthzGrpc:/);
  });
  it('exit 2 for a bad --output', () => {
    assert.equal(run(['--mas', file('good4.yaml', GOOD), '--output', 'xml']).code, 2);
  });
  it('exit 2 without --mas or --manifests', () => {
    const r = run([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--mas/);
  });
  it('exit 2 naming the file and field of a bad MAS', () => {
    const p = file('bad.yaml', GOOD.replace('type: agent', 'type: robot'));
    const r = run(['--mas', p]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*spec\\.apps\\[0\\]\\.type`),
    );
  });
});

describe('manifest errors name the file and the field', () => {
  const cases: [string, string, RegExp][] = [
    ['not YAML', 'a: [1', /document: not valid YAML/],
    ['a scalar document', '42', /expected a Kubernetes object/],
    [
      'wrong apiVersion',
      GOOD.replace('casa.io/v1alpha1', 'casa.io/v2'),
      /apiVersion: expected casa.io\/v1alpha1/,
    ],
    ['no name', GOOD.replace('name: m, ', ''), /metadata.name: is required/],
    ['app without name', GOOD.replace('{name: a, ', '{'), /spec.apps\[0\].name: is required/],
    [
      'bad scheme',
      GOOD.replace('scheme: http', 'scheme: ftp'),
      /spec.apps\[0\].baseUrl.scheme: expected http or https/,
    ],
    ['apps not a list', GOOD.replace(/apps:\n.*\n/, 'apps: {}\n'), /spec.apps: expected a list/],
    [
      'duplicate app',
      GOOD.replace(/( {4}- \{name: a.*\n)/, '$1$1'),
      /spec.apps\[1\].name: duplicate app name/,
    ],
    [
      'llm_host not a string',
      GOOD.replace('llm_host: llm.example.com', 'llm_host: 7'),
      /spec.llm_host: expected/,
    ],
    [
      'bad Service port',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 0}]}\n',
      /Service default\/s spec.ports\[0\].port/,
    ],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => {
      const p = file(`case-${name.replace(/\W+/g, '-')}.yaml`, text);
      assert.throws(
        () => readManifests([p]),
        (err: unknown) =>
          err instanceof ManifestError && err.message.startsWith(`${p}: `) && want.test(err.message),
      );
    });
  }
  it('a missing file', () => {
    assert.throws(() => readManifests([join(dir, 'nope.yaml')]), /nope.yaml: file: cannot read/);
  });
  it('the client app type is accepted (the runtime knows it even if the CRD enum does not)', () => {
    const p = file('client.yaml', GOOD.replace('type: agent', 'type: client'));
    assert.equal(readManifests([p]).multiAgentSystems[0]?.apps[0]?.type, 'client');
  });
});
