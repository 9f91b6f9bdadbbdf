import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { hostProblem } from '../../../src/agent/inventory/mas.js';
import { decodeTypedObject, type MultiAgentSystemRecord } from '../../../src/agent/inventory/objects.js';
import { packageRoot } from '../../../src/agent/paths.js';
import { mas } from './fixtures.js';

function decode(raw: unknown) {
  return decodeTypedObject(raw);
}

function record(raw: unknown): MultiAgentSystemRecord {
  const d = decode(raw);
  assert.equal(d.status, 'ok', d.status === 'invalid' ? d.error : d.status);
  return (d as { object: MultiAgentSystemRecord }).object;
}

function withApp(app: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'casa.io/v1alpha1',
    kind: 'MultiAgentSystem',
    metadata: { name: 'm', namespace: 't' },
    spec: { name: 'M', apps: [app], ...extra },
  };
}

describe('MultiAgentSystem decoding (shipped CRD field names)', () => {
  it('reads the example MAS shipped in cilium/example', () => {
    const raw = parse(readFileSync(join(packageRoot(), 'cilium/example/multiagentsystem.yaml'), 'utf8'));
    const r = record(raw);
    assert.equal(r.key, 'travel/travel-planner');
    assert.equal(r.mas.llmHost, 'litellm.example.com');
    assert.deepEqual(r.mas.apps[0], {
      name: 'planner',
      type: 'agent',
      kubernetesWorkloadName: 'planner',
      baseUrl: { host: 'planner.travel:8080', scheme: 'http' },
      promptFieldJsonPath: '{.prompt}',
    });
    assert.deepEqual(r.problems, []);
  });

  it('accepts type client (a MAS whose CRD allows it)', () => {
    const r = record(withApp({ name: 'ui', type: 'client', baseUrl: { host: 'ui:3000', scheme: 'http' } }));
    assert.equal(r.mas.apps[0]?.type, 'client');
  });

  const rejected: [string, Record<string, unknown>, string][] = [
    [
      'no spec',
      { apiVersion: 'casa.io/v1alpha1', kind: 'MultiAgentSystem', metadata: { name: 'm', namespace: 't' } },
      'MultiAgentSystem t/m: spec: is required',
    ],
    [
      'an unknown app type',
      withApp({ name: 'a', type: 'robot' }),
      'MultiAgentSystem t/m: spec.apps[0].type: expected agent, mcp_server or client, got "robot"',
    ],
    [
      'an app without a name',
      withApp({ type: 'agent' }),
      'MultiAgentSystem t/m: spec.apps[0].name: is required',
    ],
    [
      'a duplicate app name',
      {
        ...withApp({ name: 'a', type: 'agent' }),
        spec: {
          name: 'M',
          apps: [
            { name: 'a', type: 'agent' },
            { name: 'a', type: 'mcp_server' },
          ],
        },
      },
      'MultiAgentSystem t/m: spec.apps[1].name: duplicate app name "a"',
    ],
    [
      'a baseUrl host that is a URL',
      withApp({ name: 'a', type: 'agent', baseUrl: { host: 'http://a:80', scheme: 'http' } }),
      'MultiAgentSystem t/m: spec.apps[0].baseUrl.host: expected a host[:port], not a URL (drop the scheme), got "http://a:80"',
    ],
    [
      'a bad scheme',
      withApp({ name: 'a', type: 'agent', baseUrl: { host: 'a', scheme: 'grpc' } }),
      'MultiAgentSystem t/m: spec.apps[0].baseUrl.scheme: expected http or https, got "grpc"',
    ],
    [
      'an llm_host with a path',
      withApp({ name: 'a', type: 'agent' }, { llm_host: 'api.example.com/v1' }),
      'MultiAgentSystem t/m: spec.llm_host: expected a host[:port] without path, query, user or spaces, got "api.example.com/v1"',
    ],
    [
      'httpRequestSchema without promptFieldJsonPath',
      withApp({ name: 'a', type: 'agent', httpRequestSchema: {} }),
      'MultiAgentSystem t/m: spec.apps[0].httpRequestSchema.promptFieldJsonPath: is required',
    ],
    [
      'apps that are not a list',
      { ...withApp({}), spec: { name: 'M', apps: { a: 1 } } },
      'MultiAgentSystem t/m: spec.apps: expected a list, got an object',
    ],
  ];
  for (const [name, raw, want] of rejected) {
    it(`rejects ${name} as a whole, naming the field`, () => {
      const d = decode(raw);
      assert.equal(d.status, 'invalid');
      assert.equal(d.status === 'invalid' && d.error, want);
      assert.equal(d.status === 'invalid' && d.key, 't/m');
    });
  }

  it('keeps a MAS whose prompt path the policy cannot compile, with a warning', () => {
    const r = record(
      withApp({ name: 'a', type: 'agent', httpRequestSchema: { promptFieldJsonPath: '{.a[?(@.x)]}' } }),
    );
    assert.equal(r.mas.apps[0]?.promptFieldJsonPath, '{.a[?(@.x)]}');
    assert.equal(r.problems.length, 1);
    assert.match(
      r.problems[0] ?? '',
      /^MultiAgentSystem t\/m: spec\.apps\[0\]\.httpRequestSchema\.promptFieldJsonPath: /,
    );
  });

  it('warns when two apps of one MAS name the same workload', () => {
    const r = record(
      mas('t', 'm', [
        { name: 'a', workload: 'shared' },
        { name: 'b', workload: 'Shared' },
      ]),
    );
    assert.equal(r.problems.length, 1);
    assert.match(
      r.problems[0] ?? '',
      /spec\.apps\[1\]\.kubernetesWorkloadName: "Shared" is also the workload of app "a"/,
    );
  });

  const hosts: [string, boolean][] = [
    ['planner', true],
    ['planner.travel:8080', true],
    ['planner.travel.svc.cluster.local.', true],
    ['[fd00::1]:8080', true],
    ['fd00::1', true],
    ['10.0.0.1:80', true],
    ['a:0', false],
    ['a:70000', false],
    ['a b', false],
    ['user@a', false],
    ['https://a', false],
    ['-a', false],
  ];
  for (const [host, valid] of hosts) {
    it(`host ${JSON.stringify(host)} is ${valid ? 'accepted' : 'rejected'}`, () => {
      assert.equal(hostProblem(host) === undefined, valid);
    });
  }
});
