// Which streams the Kubernetes source opens, with which selectors, and how
// per-namespace streams follow namespaces becoming (un)managed. The real
// apiserver behaviour is covered by test/e2e/inventory.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type KubeApi,
  KubeStatusError,
  type ListResult,
  type Query,
  type WatchEventType,
  type WatchHandle,
} from '../../../src/agent/inventory/kube-api.js';
import { KubeSource } from '../../../src/agent/inventory/kube-source.js';
import { WorkloadRegistry } from '../../../src/agent/inventory/registry.js';
import { mas, namespace, pod, secret } from './fixtures.js';
import { ScriptedApi } from './scripted-api.js';

class RoutedApi implements KubeApi {
  readonly routes = new Map<string, ScriptedApi>();
  readonly requests: { op: 'list' | 'watch'; path: string; query: Query }[] = [];

  at(path: string): ScriptedApi {
    let r = this.routes.get(path);
    if (!r) {
      r = new ScriptedApi();
      this.routes.set(path, r);
    }
    return r;
  }

  list(path: string, query: Query): Promise<ListResult> {
    this.requests.push({ op: 'list', path, query });
    return this.at(path).list(path, query);
  }

  watch(path: string, query: Query, onEvent: (type: WatchEventType, object: unknown) => void): WatchHandle {
    this.requests.push({ op: 'watch', path, query });
    return this.at(path).watch(path, query, onEvent);
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await sleep(2);
  }
}

describe('Kubernetes source streams', { timeout: 30_000 }, () => {
  let source: KubeSource | undefined;
  afterEach(async () => {
    await source?.stop();
    source = undefined;
  });

  function setup(secretLabelSelector?: string) {
    const api = new RoutedApi();
    const reg = new WorkloadRegistry({ nodeName: 'node-a' });
    api.at('/api/v1/namespaces').set(namespace('travel'));
    api
      .at('/apis/casa.io/v1alpha1/multiagentsystems')
      .set(mas('travel', 'trip', [{ name: 'planner' }, { name: 'flights' }]));
    api.at('/api/v1/pods').set(pod({ name: 'planner', ip: '10.0.0.1' }));
    api.at('/api/v1/namespaces/travel/pods').set(pod({ name: 'flights', ip: '10.0.9.1', node: 'node-b' }));
    api
      .at('/api/v1/namespaces/travel/secrets')
      .set(secret('travel', 'planner-oauth2-credentials', { clientId: 'i', clientSecret: 's' }));
    source = new KubeSource({
      api,
      sink: reg,
      nodeName: 'node-a',
      backoff: { initialMs: 1, maxMs: 4 },
      ...(secretLabelSelector ? { secretLabelSelector } : {}),
    });
    return { api, reg, source };
  }

  it('opens exactly the documented streams, never a cluster-wide Secret watch', async () => {
    const { api, source: s } = setup('casa.io/mas-name');
    await s.start();
    const lists = api.requests.filter((r) => r.op === 'list').map((r) => [r.path, r.query]);
    assert.deepEqual(
      lists.sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      [
        ['/api/v1/namespaces', { labelSelector: 'casa.io/injection=enabled' }],
        ['/api/v1/namespaces/travel/pods', { fieldSelector: 'spec.nodeName!=node-a' }],
        [
          '/api/v1/namespaces/travel/secrets',
          { fieldSelector: 'type=Opaque', labelSelector: 'casa.io/mas-name' },
        ],
        ['/api/v1/pods', { fieldSelector: 'spec.nodeName=node-a' }],
        ['/api/v1/services', {}],
        ['/apis/casa.io/v1alpha1/multiagentsystems', {}],
      ],
    );
    assert.ok(!api.requests.some((r) => r.path === '/api/v1/secrets'));
  });

  it('is synced only once every initial list, the managed namespaces’ included, is applied', async () => {
    const { api, reg, source: s } = setup();
    api.at('/api/v1/namespaces/travel/secrets').failLists = 3;
    await s.start();
    assert.equal(s.synced, true);
    assert.equal(reg.podByIp('10.0.0.1')?.app.name, 'planner');
    assert.equal(reg.resolveDestination('10.0.9.1', undefined)?.app.name, 'flights');
    const planner = reg.appByHost('planner.travel');
    assert.equal(planner && reg.credentials(planner)?.clientSecret, 's');
    assert.equal(s.status().streams.length, 6);
    assert.deepEqual(s.status().managedNamespaces, ['travel']);
  });

  it('a managed namespace whose Secrets the agent may not read (403) is a warning, not an agent that never syncs', async () => {
    const { api, reg, source: s } = setup();
    const secrets = api.at('/api/v1/namespaces/travel/secrets');
    secrets.failLists = 1_000_000;
    secrets.listError = () =>
      new KubeStatusError(
        403,
        'secrets is forbidden: User "system:serviceaccount:casa:agent" cannot list resource "secrets"',
      );
    await s.start();
    assert.equal(s.synced, true);
    assert.equal(reg.podByIp('10.0.0.1')?.app.name, 'planner');
    assert.ok(
      reg
        .warnings()
        .some(
          (w) => w.startsWith('stream secrets@ns/travel (secrets@ns/travel): GET') || w.includes('forbidden'),
        ),
      reg.warnings().join('\n'),
    );
  });

  it('a namespace that stops being managed loses its pods and Secrets; managed again, they come back', async () => {
    const { api, reg, source: s } = setup();
    await s.start();
    await waitFor(
      'namespace watches',
      () => (api.routes.get('/api/v1/namespaces/travel/pods')?.watchers.size ?? 0) === 1,
    );
    // With the label selector, un-labelling reaches the watch as a DELETED event.
    api.at('/api/v1/namespaces').delete(namespace('travel'));
    await waitFor(
      'the namespace streams stopped',
      () => api.routes.get('/api/v1/namespaces/travel/pods')?.watchers.size === 0,
    );
    assert.equal(reg.resolveDestination('10.0.9.1', undefined), undefined);
    const planner = reg.appByHost('planner.travel');
    assert.equal(planner && reg.credentials(planner), undefined);
    api.at('/api/v1/namespaces').set(namespace('travel'));
    await waitFor(
      'the namespace streams back',
      () => reg.resolveDestination('10.0.9.1', undefined) !== undefined,
    );
    await waitFor('credentials back', () => (planner && reg.credentials(planner)) !== undefined);
  });

  it('a namespace managed later gets its streams without affecting sync', async () => {
    const { api, reg, source: s } = setup();
    await s.start();
    api
      .at('/api/v1/namespaces/hotel/pods')
      .set(pod({ ns: 'hotel', name: 'x', ip: '10.0.8.1', node: 'node-b' }));
    api.at('/apis/casa.io/v1alpha1/multiagentsystems').set(mas('hotel', 'h', [{ name: 'x' }]));
    api.at('/api/v1/namespaces').set(namespace('hotel'));
    await waitFor(
      'the new namespace pods',
      () => reg.resolveDestination('10.0.8.1', undefined)?.app.name === 'x',
    );
    assert.deepEqual(s.status().managedNamespaces, ['hotel', 'travel']);
  });
});
