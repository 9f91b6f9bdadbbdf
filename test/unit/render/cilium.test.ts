// renderCilium: the cluster-wide objects, their references to each other, and
// byte-stable output for the same input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseServiceHost } from '../../../src/agent/render/app-services.js';
import { parseLlmHost, renderCilium } from '../../../src/agent/render/cilium.js';
import { toYamlDocuments } from '../../../src/agent/render/kubernetes-object.js';
import { defaultConfig, dig, type J, mas } from './fixtures.js';

const config = defaultConfig();

function byName(objects: ReturnType<typeof renderCilium>, name: string): J {
  const o = objects.find((x) => x.metadata.name === name);
  assert.ok(o, `no object ${name}`);
  return o as unknown as J;
}

describe('renderCilium objects', () => {
  const objects = renderCilium({ config, multiAgentSystems: [mas()] });
  it('renders the egress config, the L7 LB config and the policy, in that order', () => {
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.name}`),
      [
        'CiliumClusterwideEnvoyConfig/casa-node-agent-egress',
        'CiliumClusterwideEnvoyConfig/casa-node-agent-l7lb',
        'CiliumClusterwideNetworkPolicy/casa-node-agent',
      ],
    );
    for (const o of objects) assert.equal(o.apiVersion, 'cilium.io/v2');
  });
  it('the egress config does not use the original source address (5-tuple clash with ORIGINAL_DST)', () => {
    const o = byName(objects, 'casa-node-agent-egress');
    assert.equal(dig(o, 'metadata.annotations')?.constructor, Object);
    assert.equal((dig(o, 'metadata.annotations') as J)['cec.cilium.io/use-original-source-address'], 'false');
    assert.equal(
      dig(o, 'spec.services'),
      undefined,
      'no services: the egress listener must not be an L7 LB one',
    );
    assert.deepEqual(
      (dig(o, 'spec.resources') as J[]).map((r) => `${r['@type']}#${r.name}`),
      [
        'type.googleapis.com/envoy.config.listener.v3.Listener#egress',
        'type.googleapis.com/envoy.config.cluster.v3.Cluster#original-dst',
      ],
    );
  });
  it('the L7 LB config lists the app Services with their ports and an EDS cluster per port', () => {
    const o = byName(objects, 'casa-node-agent-l7lb');
    assert.deepEqual(dig(o, 'spec.services'), [
      { name: 'flights', namespace: 'travel', ports: [8000] },
      { name: 'hotels', namespace: 'travel', ports: [80] },
      { name: 'planner', namespace: 'travel', ports: [8080] },
    ]);
    assert.deepEqual(
      (dig(o, 'spec.resources') as J[]).map((r) => r.name),
      ['l7lb', 'travel/flights:8000', 'travel/hotels:80', 'travel/planner:8080'],
    );
  });
  it('the policy selects managed namespaces and redirects to a listener that exists', () => {
    const p = byName(objects, 'casa-node-agent');
    assert.deepEqual(dig(p, 'spec.endpointSelector'), {
      matchExpressions: [
        { key: 'io.cilium.k8s.namespace.labels.casa.io/injection', operator: 'In', values: ['enabled'] },
      ],
    });
    const egress = dig(p, 'spec.egress') as J[];
    const refs = egress.flatMap((r) => (r.toPorts as J[]).map((tp) => tp.listener).filter(Boolean)) as J[];
    assert.ok(refs.length >= 2);
    const cfg = byName(objects, 'casa-node-agent-egress');
    const listenerNames = (dig(cfg, 'spec.resources') as J[]).map((r) => r.name);
    for (const ref of refs) {
      assert.deepEqual(ref.envoyConfig, {
        kind: 'CiliumClusterwideEnvoyConfig',
        name: 'casa-node-agent-egress',
      });
      assert.ok(listenerNames.includes(ref.name), `listener ${String(ref.name)} is defined`);
    }
  });
  it('keeps DNS working with DNS visibility (toFQDNs needs it)', () => {
    const dns = (dig(byName(objects, 'casa-node-agent'), 'spec.egress') as J[])[0] as J;
    assert.deepEqual(dig(dns, 'toPorts.0.rules'), { dns: [{ matchPattern: '*' }] });
    assert.deepEqual(dig(dns, 'toPorts.0.ports'), [
      { port: '53', protocol: 'UDP' },
      { port: '53', protocol: 'TCP' },
    ]);
  });
  it('sends every TCP port of managed pods through the egress listener', () => {
    const rule = (dig(byName(objects, 'casa-node-agent'), 'spec.egress') as J[])[1] as J;
    assert.deepEqual(dig(rule, 'toPorts.0.ports'), [{ port: '0', protocol: 'TCP' }]);
  });
  it('allows the llm_host by FQDN: port 80 through the gate, 443 at L4', () => {
    const rule = (dig(byName(objects, 'casa-node-agent'), 'spec.egress') as J[])[2] as J;
    assert.deepEqual(rule.toFQDNs, [{ matchName: 'litellm.example.com' }]);
    assert.equal(dig(rule, 'toPorts.0.ports.0.port'), '80');
    assert.equal(dig(rule, 'toPorts.0.listener.name'), 'egress');
    assert.equal(dig(rule, 'toPorts.1.ports.0.port'), '443');
    assert.equal(dig(rule, 'toPorts.1.listener'), undefined);
  });
  it('an llm_host with a port is redirected on that port only; an IP uses toCIDR', () => {
    const objs = renderCilium({
      config,
      multiAgentSystems: [
        mas({ llmHost: 'llm.internal:4000' }),
        mas({ ref: { namespace: 'b', name: 'b' }, llmHost: '10.1.2.3:4000' }),
      ],
    });
    const rules = (dig(byName(objs, 'casa-node-agent'), 'spec.egress') as J[]).slice(2);
    assert.deepEqual(
      rules.map((r) => r.toFQDNs ?? r.toCIDR),
      [[{ matchName: 'llm.internal' }], ['10.1.2.3/32']],
    );
    for (const r of rules) assert.deepEqual(dig(r, 'toPorts.0.ports'), [{ port: '4000', protocol: 'TCP' }]);
  });
});

describe('Services of MAS apps', () => {
  it('without app Services the L7 LB config redirects nothing (no services, no clusters)', () => {
    const objs = renderCilium({ config, multiAgentSystems: [mas({ apps: [{ name: 'a', type: 'agent' }] })] });
    assert.deepEqual(
      objs.map((o) => o.metadata.name),
      ['casa-node-agent-egress', 'casa-node-agent-l7lb', 'casa-node-agent'],
    );
    const l7 = byName(objs, 'casa-node-agent-l7lb');
    assert.equal(dig(l7, 'spec.services'), undefined);
    assert.deepEqual(
      (dig(l7, 'spec.resources') as J[]).map((r) => r.name),
      ['l7lb'],
    );
  });
  it('a Service list keeps only hosts that name an existing TCP port', () => {
    const warnings: string[] = [];
    const objs = renderCilium({
      config,
      multiAgentSystems: [mas()],
      services: [
        { namespace: 'travel', name: 'planner', ports: [{ port: 8080 }], clusterIps: ['10.0.0.9'] },
        { namespace: 'travel', name: 'flights', ports: [{ port: 8000, protocol: 'UDP' }] },
      ],
      warn: (m) => warnings.push(m),
    });
    assert.deepEqual(dig(byName(objs, 'casa-node-agent-l7lb'), 'spec.services'), [
      { name: 'planner', namespace: 'travel', ports: [8080] },
    ]);
    assert.equal(warnings.length, 2);
    assert.match(warnings.join('\n'), /no Service travel\/flights with TCP port 8000/);
    assert.match(warnings.join('\n'), /no Service travel\/hotels with TCP port 80/);
  });
  it('https apps are not redirected (Envoy cannot see inside TLS), with a warning', () => {
    const warnings: string[] = [];
    const objs = renderCilium({
      config,
      multiAgentSystems: [
        mas({ apps: [{ name: 'a', type: 'agent', baseUrl: { host: 'a.ns', scheme: 'https' } }] }),
      ],
      warn: (m) => warnings.push(m),
    });
    assert.equal(dig(byName(objs, 'casa-node-agent-l7lb'), 'spec.services'), undefined);
    assert.match(warnings[0] ?? '', /https/);
  });
});

describe('parseServiceHost reads every cluster DNS spelling', () => {
  const cases: [string, ReturnType<typeof parseServiceHost>][] = [
    ['svc', { namespace: 'mas-ns', name: 'svc', port: undefined }],
    ['svc:8080', { namespace: 'mas-ns', name: 'svc', port: 8080 }],
    ['svc.ns', { namespace: 'ns', name: 'svc', port: undefined }],
    ['svc.ns.svc', { namespace: 'ns', name: 'svc', port: undefined }],
    ['svc.ns.svc.cluster.local', { namespace: 'ns', name: 'svc', port: undefined }],
    ['SVC.NS.svc.cluster.local.:81', { namespace: 'ns', name: 'svc', port: 81 }],
    ['api.example.com', undefined],
    ['10.0.0.1', undefined],
    ['10.0.0.1:80', undefined],
    ['svc:0', undefined],
    ['svc:70000', undefined],
    ['[::1]:80', undefined],
    ['bad_name', undefined],
  ];
  for (const [host, want] of cases) {
    it(`${host} → ${JSON.stringify(want)}`, () => assert.deepEqual(parseServiceHost(host, 'mas-ns'), want));
  }
});

describe('parseLlmHost', () => {
  const cases: [string, ReturnType<typeof parseLlmHost>][] = [
    ['api.openai.com', { host: 'api.openai.com', port: undefined }],
    ['LiteLLM.example.com:4000', { host: 'litellm.example.com', port: 4000 }],
    ['https://api.example.com/v1', { host: 'api.example.com', port: undefined }],
    ['[fd00::1]:8000', { host: 'fd00::1', port: 8000 }],
    ['host:99999', undefined],
    ['', undefined],
  ];
  for (const [raw, want] of cases) {
    it(`${JSON.stringify(raw)} → ${JSON.stringify(want)}`, () => assert.deepEqual(parseLlmHost(raw), want));
  }
});

describe('determinism', () => {
  it('the same MASes in any order print the same bytes', () => {
    const a = mas();
    const b = mas({
      ref: { namespace: 'other', name: 'x' },
      llmHost: 'a-llm.example.com',
      apps: [{ name: 'z', type: 'agent', baseUrl: { host: 'z.other:9000', scheme: 'http' } }],
    });
    const one = toYamlDocuments(renderCilium({ config, multiAgentSystems: [a, b] }));
    const two = toYamlDocuments(
      renderCilium({ config, multiAgentSystems: [b, { ...a, apps: [...a.apps].reverse() }] }),
    );
    assert.equal(one, two);
  });
  it('two apps behind one Service port give one Service entry', () => {
    const objs = renderCilium({
      config,
      multiAgentSystems: [
        mas({
          apps: [
            { name: 'a', type: 'agent', baseUrl: { host: 'svc.travel', scheme: 'http' } },
            {
              name: 'b',
              type: 'agent',
              baseUrl: { host: 'svc.travel.svc.cluster.local:80', scheme: 'http' },
            },
          ],
        }),
      ],
    });
    assert.deepEqual(dig(byName(objs, 'casa-node-agent-l7lb'), 'spec.services'), [
      { name: 'svc', namespace: 'travel', ports: [80] },
    ]);
  });
});
