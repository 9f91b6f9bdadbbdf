// The applier on exactly the chart's RBAC: the ServiceAccount, ClusterRoles,
// Roles and bindings `helm template` renders with config.applyClusterObjects
// are created in a real kube-apiserver, the agent authenticates with a
// TokenRequest token of that ServiceAccount, and it syncs its inventory,
// wins the Lease, applies and prunes — while everything beyond that grant is
// refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../../src/agent/apply/index.js';
import { packageRoot } from '../../../src/agent/paths.js';
import { useKube } from '../../harness/kube.js';
import { kubeRequest } from '../../harness/kube-request.js';
import { requirePeer } from '../../harness/peers.js';
import {
  CCEC,
  CCNP,
  createEnvoyConfig,
  equalsRendered,
  leaseHolder,
  MANAGED,
  masBody,
  ok,
  startAgent,
  stopAll,
  tokenKubeConfig,
  until,
} from './support.js';

const fixture = useKube();
const helm = requirePeer('helm');
after(stopAll);

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

function chartRbac(agentNs: string, appNs: string): Obj[] {
  const r = spawnSync(
    helm.path,
    [
      'template',
      'rel',
      join(packageRoot(), 'daemonset'),
      '-n',
      agentNs,
      '--set',
      'config.applyClusterObjects=true',
      '--set',
      `rbac.secretNamespaces={${appNs}}`,
    ],
    { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: undefined } },
  );
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && RBAC_KINDS.has(o.kind));
}

function collection(o: Obj): string {
  const ns = o.metadata.namespace;
  if (o.kind === 'ServiceAccount') return `/api/v1/namespaces/${ns}/serviceaccounts`;
  const base = '/apis/rbac.authorization.k8s.io/v1';
  const plural = `${o.kind.toLowerCase()}s`;
  return ns ? `${base}/namespaces/${ns}/${plural}` : `${base}/${plural}`;
}

describe('the applier on exactly the chart’s RBAC', { skip: fixture.skip ?? helm.skip }, () => {
  it('syncs, leads, applies and prunes with a token of the chart’s ServiceAccount; nothing more is allowed', async () => {
    const kube = fixture.kube;
    const agentNs = await kube.newNamespace({ prefix: 'casa' });
    const appNs = await kube.newNamespace({ prefix: 'travel', labels: MANAGED });
    const rbac = chartRbac(agentNs, appNs);
    const writer = rbac.find((o) => o.kind === 'ClusterRole' && o.metadata.name.endsWith('-cilium-writer'));
    assert.ok(writer, 'the chart renders the writer ClusterRole with applyClusterObjects');
    for (const o of rbac) await ok(kube.request('POST', collection(o), o), `${o.kind} ${o.metadata.name}`);
    const sa = rbac.find((o) => o.kind === 'ServiceAccount')?.metadata.name ?? '';
    const token = await kube.createServiceAccountToken({ namespace: agentNs, serviceAccount: sa });

    await ok(
      kube.request('POST', `/api/v1/namespaces/${appNs}/services`, {
        metadata: { name: 'planner' },
        spec: { ports: [{ port: 8000, protocol: 'TCP' }], selector: { app: 'planner' } },
      }),
      'service',
    );
    await ok(
      kube.request(
        'POST',
        `/apis/casa.io/v1alpha1/namespaces/${appNs}/multiagentsystems`,
        masBody(appNs, 'trip', 'llm.example.com', [{ name: 'planner', port: 8000 }]),
      ),
      'MAS',
    );
    // An owned object from an earlier version: pruning must be allowed too.
    await createEnvoyConfig(kube.request, 'casa-node-agent-retired', {
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    });

    const agent = await startAgent(kube, agentNs, 'agent-rbac', { kubeConfig: tokenKubeConfig(kube, token) });
    assert.equal(agent.source.synced, true);
    await until('leading and applied', () => agent.apply.state().lastOutcome === 'ok');
    assert.equal(agent.apply.state().lastError, undefined);
    assert.equal(await leaseHolder(kube.request, agentNs), 'agent-rbac');
    await until('the objects equal the rendered ones', () => equalsRendered(kube.request, agent));
    assert.equal((await kube.request('GET', `${CCEC}/casa-node-agent-retired`)).status, 404, 'pruned');
    await agent.stop();
    // Released on stop: the update verb suffices for that as well.
    assert.equal(await leaseHolder(kube.request, agentNs), undefined);

    // Nothing beyond the grant: other kinds, other namespaces' Leases, namespaced Cilium policies.
    const asAgent = kubeRequest(kube.url, token, readFileSync(kube.caFile, 'utf8'));
    try {
      const refused: [string, string, unknown?][] = [
        ['POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'x' } }],
        [
          'POST',
          `/apis/coordination.k8s.io/v1/namespaces/${appNs}/leases`,
          { metadata: { name: 'x' }, spec: {} },
        ],
        [
          'DELETE',
          `/apis/coordination.k8s.io/v1/namespaces/${agentNs}/leases/casa-node-agent-cluster-objects`,
        ],
        ['GET', `${CCNP}/casa-node-agent`],
        ['GET', `${CCEC}?watch=true`],
        ['POST', `/apis/cilium.io/v2/namespaces/${appNs}/ciliumnetworkpolicies`, { metadata: { name: 'x' } }],
        ['GET', `/api/v1/namespaces/${agentNs}/secrets`],
        ['PATCH', `/api/v1/namespaces/${appNs}`, '{}'],
      ];
      for (const [method, path, body] of refused) {
        const r = await asAgent(
          method,
          path,
          body,
          method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
        );
        assert.equal(r.status, 403, `${method} ${path}: ${r.status}`);
      }
    } finally {
      await asAgent.close();
    }
  });
});
