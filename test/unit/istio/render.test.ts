// `casa-agent render --dataplane istio`: CASA's EnvoyFilter structure per MAS
// namespace (ext_authz before the router on both sidecar contexts, one
// cluster per port), or the CUSTOM AuthorizationPolicy for inbound with the
// meshConfig extension provider; fail closed; same input, same bytes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError, loadConfig } from '../../../src/agent/config/load.js';
import {
  type IstioSettingsSource,
  istioSettings,
  meshConfigSnippet,
  rendererFor,
  renderIstio,
  toYamlDocuments,
} from '../../../src/agent/render/index.js';
import type { MultiAgentSystem } from '../../../src/policy/types.js';

function masIn(namespace: string, name = 'm'): MultiAgentSystem {
  return {
    ref: { namespace, name },
    apps: [{ name: 'a', type: 'agent', baseUrl: { host: `a.${namespace}:8000`, scheme: 'http' } }],
  };
}

const cfg = (flags: Record<string, string> = {}) =>
  loadConfig({ flags, env: {} }) as ReturnType<typeof loadConfig> & IstioSettingsSource;

interface Patch {
  applyTo: string;
  match: {
    context: string;
    listener?: { filterChain: { filter: { name: string; subFilter: { name: string } } } };
  };
  patch: { operation: string; value: Record<string, unknown> };
}
const patches = (o: { spec?: unknown }) => (o.spec as { configPatches: Patch[] }).configPatches;

describe('EnvoyFilter (default attachment): CASA’s structure, fail closed', () => {
  const [ef] = renderIstio({ config: cfg(), multiAgentSystems: [masIn('travel')] });
  it('one EnvoyFilter per MAS namespace, labelled as rendered by the agent', () => {
    assert.equal(ef?.kind, 'EnvoyFilter');
    assert.equal(ef?.apiVersion, 'networking.istio.io/v1alpha3');
    assert.deepEqual([ef?.metadata.namespace, ef?.metadata.name], ['travel', 'casa-node-agent']);
    assert.equal(ef?.metadata.labels?.['app.kubernetes.io/part-of'], 'casa-node-agent');
  });
  it('ext_authz inserted before the router on SIDECAR_INBOUND and SIDECAR_OUTBOUND, then a cluster for each', () => {
    const p = patches(ef as { spec?: unknown });
    assert.deepEqual(
      p.map((x) => `${x.applyTo} ${x.match.context} ${x.patch.operation}`),
      [
        'HTTP_FILTER SIDECAR_INBOUND INSERT_BEFORE',
        'HTTP_FILTER SIDECAR_OUTBOUND INSERT_BEFORE',
        'CLUSTER SIDECAR_INBOUND ADD',
        'CLUSTER SIDECAR_OUTBOUND ADD',
      ],
    );
    for (const f of p.slice(0, 2)) {
      assert.equal(
        f.match.listener?.filterChain.filter.name,
        'envoy.filters.network.http_connection_manager',
      );
      assert.equal(f.match.listener?.filterChain.filter.subFilter.name, 'envoy.filters.http.router');
    }
  });
  it('fail closed, body sent, the check timeout, each side to its own port through the agent Service', () => {
    const p = patches(ef as { spec?: unknown });
    const text = JSON.stringify(p);
    assert.doesNotMatch(text, /"failure_mode_allow":true/);
    const authz = (i: number) => (p[i]?.patch.value.typed_config ?? {}) as Record<string, unknown>;
    for (const [i, cluster] of [
      [0, 'casa-node-agent-inbound'],
      [1, 'casa-node-agent-outbound'],
    ] as const) {
      assert.equal(authz(i).failure_mode_allow, false);
      assert.deepEqual(authz(i).grpc_service, { envoy_grpc: { cluster_name: cluster }, timeout: '5s' });
      assert.deepEqual(authz(i).with_request_body, {
        max_request_bytes: 60000,
        allow_partial_message: true,
        pack_as_bytes: true,
      });
      assert.deepEqual(authz(i).status_on_error, { code: 'Forbidden' });
    }
    const target = (i: number) => JSON.stringify(p[i]?.patch.value.load_assignment);
    assert.match(
      target(2),
      /"address":"casa-node-agent\.casa-system\.svc\.cluster\.local","port_value":4100/,
    );
    assert.match(
      target(3),
      /"address":"casa-node-agent\.casa-system\.svc\.cluster\.local","port_value":5100/,
    );
    assert.equal(p[2]?.patch.value.name, 'casa-node-agent-inbound');
    assert.equal(p[3]?.patch.value.type, 'STRICT_DNS');
  });
  it('follows the settings: Service name, ports, timeout, body size', () => {
    const [o] = renderIstio({
      config: cfg({
        istioService: 'agent.ops.svc.example.internal',
        istioInboundListen: '0.0.0.0:7100',
        istioOutboundListen: '0.0.0.0:7200',
        checkTimeout: '250ms',
        maxRequestBytes: '4096',
      }),
      multiAgentSystems: [masIn('travel')],
    });
    const text = JSON.stringify(o);
    assert.match(text, /"address":"agent\.ops\.svc\.example\.internal","port_value":7100/);
    assert.match(text, /"port_value":7200/);
    assert.match(text, /"timeout":"0\.25s"/);
    assert.match(text, /"max_request_bytes":4096/);
  });
  it('a listen port of 0 cannot be dialled by sidecars: a ConfigError naming the setting', () => {
    assert.throws(
      () =>
        renderIstio({ config: cfg({ istioOutboundListen: '0.0.0.0:0' }), multiAgentSystems: [masIn('t')] }),
      (e: unknown) => e instanceof ConfigError && e.field === 'istioOutboundListen',
    );
  });
});

describe('AuthorizationPolicy attachment: inbound through Istio’s ext_authz', () => {
  const objs = renderIstio({
    config: cfg({ istioAttachment: 'authorizationpolicy' }),
    multiAgentSystems: [masIn('travel')],
  });
  it('an AuthorizationPolicy CUSTOM naming the provider, for every workload of the namespace', () => {
    const ap = objs.find((o) => o.kind === 'AuthorizationPolicy');
    assert.equal(ap?.apiVersion, 'security.istio.io/v1');
    assert.deepEqual(ap?.spec, { action: 'CUSTOM', provider: { name: 'casa-node-agent' }, rules: [{}] });
  });
  it('the EnvoyFilter keeps only the outbound side (never two inbound ext_authz filters)', () => {
    const ef = objs.find((o) => o.kind === 'EnvoyFilter') as { spec?: unknown };
    assert.deepEqual(
      patches(ef).map((x) => x.match.context),
      ['SIDECAR_OUTBOUND', 'SIDECAR_OUTBOUND'],
    );
  });
  it('the meshConfig provider uses Istio’s field names and fails closed', () => {
    const snippet = parse(meshConfigSnippet(istioSettings(cfg()))) as {
      extensionProviders: { name: string; envoyExtAuthzGrpc: Record<string, unknown> }[];
    };
    assert.deepEqual(snippet.extensionProviders, [
      {
        name: 'casa-node-agent',
        envoyExtAuthzGrpc: {
          service: 'casa-node-agent.casa-system.svc.cluster.local',
          port: 4100,
          timeout: '5s',
          failOpen: false,
          statusOnError: '403',
          includeRequestBodyInCheck: { maxRequestBytes: 60000, allowPartialMessage: true, packAsBytes: true },
        },
      },
    ]);
  });
});

describe('determinism', () => {
  it('namespaces sorted and deduplicated; MAS order and extra namespaces do not change the bytes', () => {
    const a = renderIstio({ config: cfg(), multiAgentSystems: [masIn('b'), masIn('a'), masIn('b', 'n')] });
    const b = renderIstio({
      config: cfg(),
      multiAgentSystems: [masIn('a'), masIn('b', 'n')],
      namespaces: ['b'],
    });
    assert.deepEqual(
      a.map((o) => o.metadata.namespace),
      ['a', 'b'],
    );
    assert.equal(toYamlDocuments(a), toYamlDocuments(b));
  });
  it('is what rendererFor("istio") renders', () => {
    const r = rendererFor('istio');
    assert.ok(r);
    const input = { config: cfg(), multiAgentSystems: [masIn('x')] };
    assert.equal(toYamlDocuments(r(input)), toYamlDocuments(renderIstio(input)));
  });
});

describe('render command with --dataplane istio', () => {
  const MAIN = fileURLToPath(new URL('../../../src/agent/cli/main.js', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'casa-render-istio-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const mas = join(dir, 'mas.yaml');
  writeFileSync(
    mas,
    [
      'apiVersion: casa.io/v1alpha1',
      'kind: MultiAgentSystem',
      'metadata: {name: m, namespace: travel}',
      'spec:',
      '  name: M',
      '  apps:',
      '    - {name: a, type: agent, kubernetesWorkloadName: a, baseUrl: {host: "a.travel:8080", scheme: http}}',
      '',
    ].join('\n'),
  );
  function run(args: string[]) {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('CASA_')) delete env[k];
    const r = spawnSync(process.execPath, [MAIN, 'render', '--dataplane', 'istio', '--mas', mas, ...args], {
      encoding: 'utf8',
      env,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('prints the EnvoyFilter as YAML, headed by the meshConfig provider as a comment', () => {
    const r = run([]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# .*meshConfig/);
    assert.match(r.stdout, /^# {5}envoyExtAuthzGrpc:$/m);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string } | null);
    assert.deepEqual(
      docs.filter((d) => d !== null).map((d) => d.kind),
      ['EnvoyFilter'],
    );
  });
  it('--istio-attachment authorizationpolicy adds the AuthorizationPolicy; JSON keeps stdout a List', () => {
    const r = run(['--istio-attachment', 'authorizationpolicy', '--output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { items: { kind: string }[] };
    assert.deepEqual(
      list.items.map((o) => o.kind),
      ['EnvoyFilter', 'AuthorizationPolicy'],
    );
    assert.match(r.stderr, /Required: .*extension provider/);
    assert.match(r.stderr, /envoyExtAuthzGrpc/);
  });
  it('a bad attachment is a configuration error naming the setting (exit 2)', () => {
    const r = run(['--istio-attachment', 'sidecar']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /istioAttachment/);
  });
});
