// Who the sides of a sidecar's Check are, against the real WorkloadRegistry:
// the caller from peer metadata (as CASA) and the source IP, the callee from
// the destination address or the Host; contradicting or unreadable identity
// evidence is refused; the side comes from the port, or from the Check.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Authorizer, CheckOutcome } from '../../../src/agent/authz/authorizer-port.js';
import type { CheckRequestMessage } from '../../../src/agent/authz/check-request.js';
import { type CheckInput, parseCheckRequest } from '../../../src/agent/authz/check-request.js';
import type { Endpoints } from '../../../src/agent/authz/endpoints.js';
import { WorkloadRegistry } from '../../../src/agent/inventory/registry.js';
import { IstioAdapter } from '../../../src/agent/istio/adapter.js';
import { DIRECTION_EXTENSION, detectDirection } from '../../../src/agent/istio/direction.js';
import { PeerMetadataCodec } from '../../../src/agent/istio/peer-metadata.js';
import { type IstioResolution, resolveIstio } from '../../../src/agent/istio/resolve.js';
import type { Endpoint } from '../../../src/policy/types.js';
import { Feed, mas, namespace, pod, service } from '../inventory/fixtures.js';
import { inboundCheck, outboundCheck, type SidecarPod, spiffe } from './sidecar-check.js';

const codec = new PeerMetadataCodec();
const reg = new WorkloadRegistry({ nodeName: 'node-a' });
new Feed(reg).upsert(
  namespace('travel'),
  mas('travel', 'travel', [
    { name: 'web', type: 'client', host: 'web.travel:8080' },
    { name: 'planner', type: 'agent', host: 'planner.travel:8000', prompt: '{.prompt}' },
    { name: 'helper', type: 'agent', host: 'helper.travel:8000' },
    { name: 'files', type: 'mcp_server', host: 'files.travel:8000' },
  ]),
  pod({ name: 'web-0', ip: '10.0.0.10', labels: { 'casa.io/app': 'web' } }),
  pod({ name: 'planner-0', ip: '10.0.0.11', labels: { 'casa.io/app': 'planner' } }),
  pod({ name: 'files-0', ip: '10.0.0.13', labels: { 'casa.io/app': 'files' } }),
  // A pod labelled for the planner whose Deployment is named like the helper app.
  pod({ name: 'odd-0', ip: '10.0.0.20', labels: { 'casa.io/app': 'planner' } }),
  service('travel', 'files', '10.96.0.13', { 'casa.io/app': 'files' }, 8000),
);

const web: SidecarPod = { ip: '10.0.0.10', namespace: 'travel', workload: 'web', pod: 'web-0' };
const planner: SidecarPod = { ip: '10.0.0.11', namespace: 'travel', workload: 'planner', pod: 'planner-0' };
const files: SidecarPod = { ip: '10.0.0.13', namespace: 'travel', workload: 'files', pod: 'files-0' };
const mcp = {
  path: '/mcp',
  host: 'files.travel:8000',
  body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
};

const input = (m: unknown): CheckInput => parseCheckRequest(m as CheckRequestMessage);
const app = (e: Endpoint | undefined) => (e ? `${e.app.name}/${e.kind}` : undefined);

function endpoints(r: IstioResolution): Endpoints {
  assert.equal(r.kind, 'endpoints', r.kind === 'deny' ? r.deny.message : '');
  return (r as Extract<IstioResolution, { kind: 'endpoints' }>).endpoints;
}

describe('outbound: the caller is the sidecar’s own app', () => {
  const rows: [string, unknown, string | undefined, string | undefined][] = [
    [
      'peer metadata and source IP agree',
      outboundCheck(planner, { ip: '10.96.0.13' }, mcp),
      'planner/pod',
      'both',
    ],
    [
      'peer metadata alone (a pod the inventory does not hold yet)',
      outboundCheck({ ...planner, ip: '10.0.5.5', pod: 'planner-new' }, { ip: '10.96.0.13' }, mcp),
      'planner/pod',
      'peer_metadata',
    ],
    [
      'no peer metadata: the source IP',
      outboundCheck(planner, { ip: '10.96.0.13' }, mcp, null),
      'planner/pod',
      'source_ip',
    ],
    [
      'peer metadata naming no app: the source IP (pod mapped by its casa.io/app label)',
      outboundCheck({ ...planner, workload: 'planner-v2' }, { ip: '10.96.0.13' }, mcp),
      'planner/pod',
      'source_ip',
    ],
    [
      'neither names an app: an unmanaged caller',
      outboundCheck({ ip: '10.0.9.9', namespace: 'travel', workload: 'stranger' }, { ip: '10.96.0.13' }, mcp),
      undefined,
      undefined,
    ],
    [
      'peer metadata without NAMESPACE: the pod’s namespace',
      outboundCheck(planner, { ip: '10.96.0.13' }, mcp, codec.encode({ workloadName: 'planner' })),
      'planner/pod',
      'both',
    ],
  ];
  for (const [name, msg, want, by] of rows) {
    it(name, () => {
      const r = resolveIstio(input(msg), reg, 'outbound', codec);
      const e = endpoints(r);
      assert.equal(e.only, 'outbound');
      assert.equal(app(e.source), want);
      assert.equal((r as { callerBy?: string }).callerBy, by);
    });
  }

  it('a caller known only from peer metadata carries the pod name and address it sent', () => {
    const m = outboundCheck({ ...planner, ip: '10.0.5.5', pod: 'planner-7f9' }, { ip: '10.96.0.13' }, mcp);
    const src = endpoints(resolveIstio(input(m), reg, 'outbound', codec)).source;
    assert.equal(src?.kind, 'pod');
    assert.deepEqual(src?.kind === 'pod' ? [src.namespace, src.podName, src.ips] : [], [
      'travel',
      'planner-7f9',
      ['10.0.5.5'],
    ]);
  });

  it('the callee is the destination address (Service VIP) or else the app of the Host', () => {
    const byVip = endpoints(
      resolveIstio(input(outboundCheck(planner, { ip: '10.96.0.13' }, mcp)), reg, 'outbound', codec),
    );
    assert.equal(app(byVip.destination), 'files/service');
    const byHost = endpoints(
      resolveIstio(
        input(outboundCheck(planner, { ip: '10.200.0.1' }, { ...mcp, host: 'helper.travel:8000' })),
        reg,
        'outbound',
        codec,
      ),
    );
    assert.equal(byHost.destination?.app.name, 'helper');
  });
});

describe('outbound: identity evidence that cannot be trusted is refused', () => {
  it('peer metadata and source IP naming different apps: unknown_workload naming both', () => {
    const odd = { ip: '10.0.0.20', namespace: 'travel', workload: 'helper', pod: 'odd-0' };
    const r = resolveIstio(input(outboundCheck(odd, { ip: '10.96.0.13' }, mcp)), reg, 'outbound', codec);
    assert.equal(r.kind, 'deny');
    const d = (r as Extract<IstioResolution, { kind: 'deny' }>).deny;
    assert.equal(d.reason, 'unknown_workload');
    assert.match(d.message, /travel\/travel\/helper/);
    assert.match(d.message, /travel\/travel\/planner/);
  });
  for (const [name, header] of [
    ['not base64', 'not base64!'],
    ['base64 of no Struct', Buffer.from([0x0a, 0x05, 0x01]).toString('base64')],
  ] as const) {
    it(`unreadable peer metadata (${name}): unknown_workload`, () => {
      const r = resolveIstio(
        input(outboundCheck(planner, { ip: '10.96.0.13' }, mcp, header)),
        reg,
        'outbound',
        codec,
      );
      assert.equal(r.kind, 'deny');
      assert.equal((r as Extract<IstioResolution, { kind: 'deny' }>).deny.reason, 'unknown_workload');
    });
  }
});

describe('inbound: the callee is the pod the sidecar fronts', () => {
  it('destination by the pod IP; the caller is reported, never decides', () => {
    const m = inboundCheck({ ip: planner.ip, principal: spiffe(planner) }, files, mcp);
    const e = endpoints(resolveIstio(input(m), reg, 'inbound', codec));
    assert.equal(e.only, 'inbound');
    assert.equal(app(e.destination), 'files/pod');
    assert.equal(app(e.source), 'planner/pod');
  });
  it('an unknown destination address falls back to the Host (CASA matches :authority)', () => {
    const m = inboundCheck({ ip: '10.0.9.9' }, { ...files, ip: '10.0.7.7' }, mcp);
    assert.equal(endpoints(resolveIstio(input(m), reg, 'inbound', codec)).destination?.app.name, 'files');
  });
  it('peer metadata on the inbound side is not read (the server sidecar consumed it): no deny', () => {
    const m = outboundCheck(planner, { ip: files.ip }, mcp, 'garbage!');
    const r = resolveIstio(input(m), reg, 'inbound', codec);
    assert.equal(r.kind, 'endpoints');
  });
});

describe('a port serving both sides reads the side from the Check', () => {
  const rows: [string, unknown, 'inbound' | 'outbound', RegExp][] = [
    [
      'mTLS peer principal: inbound',
      inboundCheck({ ip: web.ip, principal: spiffe(web) }, planner, mcp),
      'inbound',
      /principal/,
    ],
    [
      'x-envoy-peer-metadata: outbound',
      outboundCheck(web, { ip: planner.ip }, mcp),
      'outbound',
      /peer-metadata/,
    ],
    [
      'no evidence: inbound (verifies, never mints)',
      inboundCheck({ ip: web.ip }, planner, mcp, false),
      'inbound',
      /no outbound evidence/,
    ],
  ];
  for (const [name, msg, want, why] of rows) {
    it(name, () => {
      const d = detectDirection(input(msg));
      assert.equal(d.direction, want);
      assert.match(d.why, why);
      const r = resolveIstio(input(msg), reg, 'detect', codec);
      assert.equal(r.direction, want);
    });
  }
  it(`context extension ${DIRECTION_EXTENSION} from the Envoy config wins`, () => {
    const m = outboundCheck(web, { ip: planner.ip }, mcp) as {
      attributes: { context_extensions: Record<string, string> };
    };
    m.attributes.context_extensions = { [DIRECTION_EXTENSION]: 'inbound' };
    assert.equal(detectDirection(input(m)).direction, 'inbound');
  });
  it('a fixed port role is never overridden by the Check', () => {
    const m = outboundCheck(web, { ip: planner.ip }, mcp);
    assert.equal(resolveIstio(input(m), reg, 'inbound', codec).direction, 'inbound');
  });
});

describe('the adapter hands the resolution to the flow, and only for that Check', () => {
  const adapter = new IstioAdapter(reg);
  function recorder(): { authorizer: Authorizer; seen: Endpoints[] } {
    const seen: Endpoints[] = [];
    return {
      seen,
      authorizer: {
        async authorize(i: CheckInput): Promise<CheckOutcome> {
          seen.push(adapter.resolve(i, reg));
          return {
            decision: { kind: 'allow', headersToSet: [], headersToRemove: [] },
            direction: 'none',
            runtimeCalls: 0,
          };
        },
      },
    };
  }

  it('the inner authorizer sees the sidecar-side endpoints', async () => {
    const { authorizer, seen } = recorder();
    const i = input(outboundCheck(planner, { ip: '10.96.0.13' }, mcp));
    await adapter.authorizerFor(authorizer, 'outbound').authorize(i, new AbortController().signal);
    assert.equal(seen[0]?.only, 'outbound');
    assert.equal(app(seen[0]?.source), 'planner/pod');
    // After the Check, the same input resolves as Cilium would (both sides, no `only`).
    assert.equal(adapter.resolve(i, reg).only, undefined);
  });

  it('a refused identity never reaches the flow: a deny with the reason and no runtime call', async () => {
    const { authorizer, seen } = recorder();
    const i = input(outboundCheck(planner, { ip: '10.96.0.13' }, mcp, '%%%'));
    const o = await adapter.authorizerFor(authorizer, 'outbound').authorize(i, new AbortController().signal);
    assert.equal(seen.length, 0);
    assert.equal(o.decision.kind, 'deny');
    assert.equal(o.decision.kind === 'deny' ? o.decision.reason : '', 'unknown_workload');
    assert.equal(o.runtimeCalls, 0);
    assert.equal(o.direction, 'outbound');
  });
});
