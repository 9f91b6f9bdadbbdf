import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeObject,
  decodeTypedObject,
  type InventoryObject,
  KINDS,
} from '../../../src/agent/inventory/objects.js';
import { endpointSlice, mas, namespace, pod, replicaSet, secret, service } from './fixtures.js';

function ok(raw: Record<string, unknown>): InventoryObject {
  const d = decodeTypedObject(raw);
  assert.equal(d.status, 'ok', d.status === 'invalid' ? d.error : d.status);
  return (d as { object: InventoryObject }).object;
}

function invalid(raw: unknown, kind = 'Pod' as const): { key?: string; error: string } {
  const d = decodeObject(kind, raw);
  assert.equal(d.status, 'invalid');
  return d as { key?: string; error: string };
}

describe('decoding Kubernetes objects at the boundary', () => {
  it('a Pod keeps what membership needs, IPs canonical, controller owner', () => {
    const p = ok(
      pod({
        name: 'planner-7d9f-abcde',
        ips: ['10.0.0.5', 'FD00:0::5'],
        labels: { 'pod-template-hash': '7d9f' },
        owner: { kind: 'ReplicaSet', name: 'planner-7d9f', uid: 'rs-1' },
      }),
    );
    assert.deepEqual(p, {
      kind: 'Pod',
      key: 'travel/planner-7d9f-abcde',
      uid: 'uid-planner-7d9f-abcde',
      namespace: 'travel',
      name: 'planner-7d9f-abcde',
      nodeName: 'node-a',
      ips: ['10.0.0.5', 'fd00::5'],
      phase: 'Running',
      terminating: false,
      hostNetwork: false,
      createdAt: Date.parse('2026-01-01T00:00:00Z'),
      labels: { 'pod-template-hash': '7d9f' },
      controller: { kind: 'ReplicaSet', name: 'planner-7d9f', uid: 'rs-1', controller: true },
    });
  });

  it('a Pod with only status.podIP (a hand-written file) and no uid is keyed by namespace/name', () => {
    const raw = pod({ name: 'x', ip: '10.0.0.9' });
    const meta = raw.metadata as Record<string, unknown>;
    delete meta.uid;
    delete (raw.status as Record<string, unknown>).podIPs;
    const p = ok(raw);
    assert.equal(p.kind === 'Pod' && p.uid, 'travel/x');
    assert.deepEqual(p.kind === 'Pod' && p.ips, ['10.0.0.9']);
  });

  const errors: [string, unknown, string][] = [
    ['Pod without metadata', { spec: {} }, 'Pod: metadata: is required'],
    [
      'Pod with a bad IP',
      pod({ name: 'p', ip: '10.0.0.300' }),
      'Pod travel/p: status.podIPs[0].ip: expected an IP address, got "10.0.0.300"',
    ],
    [
      'Pod with a non-string label',
      { metadata: { name: 'p', namespace: 'n', labels: { a: 1 } } },
      'Pod n/p: metadata.labels.a: expected a string, got number 1',
    ],
    [
      'Pod with a bad creationTimestamp',
      { metadata: { name: 'p', namespace: 'n', creationTimestamp: 'yesterday' } },
      'Pod n/p: metadata.creationTimestamp: expected an RFC 3339 timestamp, got "yesterday"',
    ],
    ['a list instead of an object', [1, 2], 'Pod: expected a Kubernetes object (a mapping)'],
  ];
  for (const [name, raw, want] of errors) {
    it(`rejects ${name}, naming the object and the field`, () => {
      assert.equal(invalid(raw).error, want);
    });
  }

  it('a rejected object is still named by its key, so its last good state can be kept', () => {
    assert.equal(invalid(pod({ name: 'p', ip: 'bad' })).key, 'travel/p');
  });

  it('Namespaces are managed only with casa.io/injection=enabled', () => {
    assert.deepEqual(ok(namespace('a')), { kind: 'Namespace', key: 'a', name: 'a', managed: true });
    assert.equal((ok(namespace('b', false)) as { managed: boolean }).managed, false);
  });

  it('Secrets: only `*-oauth2-credentials` are kept; data is base64, stringData plain', () => {
    assert.equal(
      decodeTypedObject(secret('t', 'tls-cert', { clientId: 'a', clientSecret: 'b' })).status,
      'ignored',
    );
    const s = ok(secret('t', 'app-1-oauth2-credentials', { clientId: 'id-1', clientSecret: 's3cret' }));
    assert.deepEqual(s.kind === 'Secret' && s.credentials, { clientId: 'id-1', clientSecret: 's3cret' });
    assert.equal(s.kind === 'Secret' && s.appId, 'app-1');
    const plain = ok(
      secret('t', 'app-2-oauth2-credentials', { clientId: 'id-2', clientSecret: 'x', plain: true }),
    );
    assert.deepEqual(plain.kind === 'Secret' && plain.credentials, { clientId: 'id-2', clientSecret: 'x' });
  });

  it('a credentials Secret missing a key is kept without credentials and says which key (never a value)', () => {
    const s = ok(secret('t', 'app-oauth2-credentials', { clientId: 'id-only' }));
    assert.equal(s.kind === 'Secret' && s.credentials, undefined);
    assert.equal(s.kind === 'Secret' && s.problem, 'missing or empty key(s) client_secret');
  });

  it('a credentials Secret with broken base64 is rejected without echoing the value', () => {
    const raw = secret('t', 'app-oauth2-credentials', { clientId: 'a', clientSecret: 'b' });
    (raw.data as Record<string, string>).client_secret = 'not base64!!';
    const d = decodeTypedObject(raw);
    assert.equal(d.status, 'invalid');
    assert.equal(
      d.status === 'invalid' && d.error,
      'Secret t/app-oauth2-credentials: data.client_secret: is not valid base64',
    );
  });

  it('Services keep ClusterIPs (not None), selector and ports; EndpointSlices their addresses', () => {
    const s = ok(service('t', 'planner', '10.96.0.10', { app: 'planner' }));
    assert.deepEqual(s, {
      kind: 'Service',
      key: 't/planner',
      namespace: 't',
      name: 'planner',
      clusterIps: ['10.96.0.10'],
      selector: { app: 'planner' },
      ports: [{ port: 8080, protocol: 'TCP', name: 'http' }],
    });
    const headless = ok(service('t', 'h', 'None'));
    assert.deepEqual(headless.kind === 'Service' && headless.clusterIps, []);
    const es = ok(endpointSlice('t', 'planner-abc', 'planner', ['10.0.0.1', '10.0.0.2']));
    assert.deepEqual(es.kind === 'EndpointSlice' && [es.serviceName, es.addresses], [
      'planner',
      ['10.0.0.1', '10.0.0.2'],
    ]);
  });

  it('ReplicaSets keep their controller', () => {
    const rs = ok(replicaSet('t', 'planner-7d9f', 'rs-1', { kind: 'Deployment', name: 'planner' }));
    assert.equal(rs.kind === 'ReplicaSet' && rs.controller?.name, 'planner');
  });

  it('other kinds and other apiVersions of known kinds are ignored', () => {
    assert.equal(
      decodeTypedObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }).status,
      'ignored',
    );
    assert.equal(decodeTypedObject({ ...mas('t', 'm', []), apiVersion: 'casa.io/v2' }).status, 'ignored');
  });

  it('decoding never throws, whatever the input (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), fc.anything(), (kind, raw) => {
        const d = decodeObject(kind, raw);
        assert.ok(['ok', 'ignored', 'invalid'].includes(d.status));
      }),
    );
  });

  it('decoding never throws on objects shaped like Kubernetes objects with random fields (property)', () => {
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.dictionary(fc.string(), fc.string()),
    );
    const raw = fc.record({
      metadata: fc.record({
        name: fc.oneof(fc.string(), value),
        namespace: value,
        labels: value,
        uid: value,
      }),
      spec: fc.dictionary(
        fc.constantFrom('nodeName', 'apps', 'llm_host', 'ports', 'clusterIPs', 'selector'),
        value,
      ),
      status: fc.dictionary(fc.constantFrom('podIP', 'podIPs', 'phase'), value),
    });
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), raw, (kind, r) => {
        const d = decodeObject(kind, r);
        if (d.status === 'invalid') assert.ok(d.error.startsWith(kind));
      }),
    );
  });
});
