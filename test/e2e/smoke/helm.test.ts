// Helm (built by scripts/peers.sh with the pinned Kubernetes version baked in)
// lints and templates a tiny chart written here, and refuses broken ones: a
// template that does not parse, and values that break values.schema.json.
// The real chart (daemonset/) has its own suite.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../../src/agent/paths.js';
import { requirePeer } from '../../harness/peers.js';

const helm = requirePeer('helm');

function pinned(key: string): string {
  const versions = readFileSync(join(packageRoot(), 'scripts', 'peers.versions'), 'utf8');
  const m = new RegExp(`^${key}=(\\S+)$`, 'm').exec(versions);
  if (!m?.[1]) throw new Error(`scripts/peers.versions has no ${key}`);
  return m[1];
}

const CHART_YAML =
  'apiVersion: v2\nname: smoke\nversion: 0.1.0\nappVersion: "1.0"\ndescription: helm smoke test\n';
const VALUES = 'greeting: hello\nreplicas: 1\n';
const SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft-07/schema#',
  type: 'object',
  required: ['greeting', 'replicas'],
  properties: { greeting: { type: 'string', minLength: 1 }, replicas: { type: 'integer', minimum: 1 } },
  additionalProperties: false,
});
const CONFIGMAP = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: {{ .Release.Name }}-smoke',
  '  labels: {app.kubernetes.io/managed-by: {{ .Release.Service }}}',
  'data:',
  '  greeting: {{ .Values.greeting | quote }}',
  '  replicas: {{ .Values.replicas | quote }}',
  '  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}',
  '',
].join('\n');

let dir = '';
function writeChart(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function run(args: string[]): { code: number | null; out: string } {
  // Helm's cache, config and data stay in the temp dir, away from $HOME.
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(dir, 'helm', 'cache'),
    HELM_CONFIG_HOME: join(dir, 'helm', 'config'),
    HELM_DATA_HOME: join(dir, 'helm', 'data'),
    KUBECONFIG: join(dir, 'no-cluster'),
  };
  const r = spawnSync(helm.path, args, { encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('helm', { skip: helm.skip }, () => {
  let good = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'casa-helm-smoke-'));
    good = writeChart('good', {
      'Chart.yaml': CHART_YAML,
      'values.yaml': VALUES,
      'values.schema.json': SCHEMA,
      'templates/configmap.yaml': CONFIGMAP,
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is the pinned version', () => {
    const r = run(['version', '--template', '{{ .Version }}']);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), `v${pinned('HELM_VERSION')}`);
  });

  it('lints a valid chart (strict)', () => {
    const r = run(['lint', good, '--strict']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('templates it with values set on the command line and the pinned Kubernetes version', () => {
    const r = run(['template', 'rel', good, '--set', 'greeting=bonjour', '--set', 'replicas=3']);
    assert.equal(r.code, 0, r.out);
    const docs = parseAllDocuments(r.out).map((d) => d.toJS() as Record<string, unknown>);
    assert.equal(docs.length, 1);
    const cm = docs[0] as { metadata: { name: string }; data: Record<string, string> };
    assert.equal(cm.metadata.name, 'rel-smoke');
    assert.equal(cm.data.greeting, 'bonjour');
    assert.equal(cm.data.replicas, '3');
    const minor = pinned('KUBERNETES_VERSION').split('.')[1];
    assert.match(cm.data.kubeVersion ?? '', new RegExp(`^v1\\.${minor}\\.`));
  });

  it('refuses a chart whose template does not parse, naming the file', () => {
    const broken = writeChart('broken-template', {
      'Chart.yaml': CHART_YAML,
      'values.yaml': VALUES,
      'templates/configmap.yaml': CONFIGMAP.replace(
        '{{ .Values.greeting | quote }}',
        '{{ .Values.greeting | quote ',
      ),
    });
    const lint = run(['lint', broken, '--strict']);
    assert.notEqual(lint.code, 0, lint.out);
    assert.match(lint.out, /templates\/configmap\.yaml/);
    const template = run(['template', 'rel', broken]);
    assert.notEqual(template.code, 0, template.out);
  });

  const badValues: [string, string[], RegExp][] = [
    ['a value of the wrong type', ['--set', 'replicas=many'], /replicas/],
    ['a value below its minimum', ['--set', 'replicas=0'], /replicas/],
    ['an unknown value', ['--set', 'greetings=hi'], /greetings/],
  ];
  for (const [name, args, message] of badValues) {
    it(`refuses ${name} (values.schema.json), naming it`, () => {
      const r = run(['template', 'rel', good, ...args]);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, message);
      assert.match(r.out, /values don't meet the specifications of the schema/);
    });
  }

  it('refuses a Chart.yaml without a version', () => {
    const broken = writeChart('no-version', {
      'Chart.yaml': CHART_YAML.replace('version: 0.1.0\n', ''),
      'templates/configmap.yaml': CONFIGMAP,
    });
    const r = run(['lint', broken]);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /version/);
  });
});
