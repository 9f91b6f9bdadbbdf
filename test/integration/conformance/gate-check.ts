// The protocol gate of ARCHITECTURE.md §3, written down from the design (not
// read from src/policy), and a check that runs the whole pure `plan()` for
// one request over every pair of app types and both one-sided cases.
import assert from 'node:assert/strict';
import {
  createPolicyConfig,
  type PolicyConfig,
  type PolicySettings,
  plan,
} from '../../../src/policy/index.js';
import type { HttpRequestAttributes } from '../../../src/policy/request.js';
import type { AppType, Endpoint } from '../../../src/policy/types.js';

type Proto = 'mcp' | 'a2a';

/** ARCHITECTURE.md §3: what each app type may send … */
const OUTBOUND: Record<AppType, readonly Proto[]> = {
  agent: ['mcp', 'a2a'],
  client: ['mcp', 'a2a'],
  mcp_server: [],
};
/** … and accept ('unenforced': an entry point, not checked). */
const INBOUND: Record<AppType, readonly Proto[] | 'unenforced'> = {
  agent: ['a2a', 'mcp'],
  client: 'unenforced',
  mcp_server: ['mcp'],
};
const TYPES: readonly AppType[] = ['agent', 'client', 'mcp_server'];

export const FRESH = {
  traceId: '5a1d0c0ffee0c0ffee0c0ffee0c0ffee',
  spanId: '0c0ffee0c0ffee01',
  llmCallId: '7b1a0f1e-0000-4000-8000-000000000001',
};
export const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** A managed pod of the given app type (no promptFieldJsonPath: no entry-point API in play). */
export function endpoint(name: string, type: AppType): Endpoint {
  return {
    kind: 'pod',
    mas: { namespace: 'conformance', name: 'mas' },
    llmHost: 'llm.example.com',
    app: { name, type, baseUrl: { host: `${name}.conformance:8000`, scheme: 'http' } },
    type,
    appId: `${name}-id`,
    namespace: 'conformance',
    podName: `${name}-0`,
    podUid: `${name}-uid`,
    ips: ['10.1.0.1'],
  };
}

export interface GateOutcome {
  readonly pair: string;
  readonly want: 'allow' | 'protocol_violation';
  readonly got: string;
}

/**
 * Runs `plan()` for `req` (classified as `protocol`) from every app type to
 * every app type, and from/to an unmanaged side, and returns the outcomes
 * that differ from the table. Allowed pairs must yield a plan (the runtime
 * steps come later); refused pairs must be 403 `protocol_violation`.
 * The request is given the caller's W3C trace context (a CASA app's tracing
 * propagates it; the SDKs do not add it themselves) and, for the one-sided
 * inbound case, a bearer token.
 */
export function gateMismatches(
  req: HttpRequestAttributes,
  protocol: Proto,
  settings: PolicySettings = {},
): GateOutcome[] {
  const headers = new Map(req.headers);
  if (!headers.has('traceparent')) headers.set('traceparent', TRACEPARENT);
  const withTrace: HttpRequestAttributes = { ...req, headers };
  const bearerHeaders = new Map(headers);
  bearerHeaders.set('authorization', 'Bearer conformance.token.value');
  const withBearer: HttpRequestAttributes = { ...req, headers: bearerHeaders };
  const config: PolicyConfig = createPolicyConfig({ unmanagedDestination: 'passthrough', ...settings });
  const out: GateOutcome[] = [];
  const run = (pair: string, allowed: boolean, r: HttpRequestAttributes, src?: Endpoint, dst?: Endpoint) => {
    const p = plan({ request: r, source: src, destination: dst, config, fresh: FRESH });
    const got =
      p.kind === 'deny'
        ? `deny ${p.reason}: ${p.message}`
        : p.classification.protocol === protocol
          ? 'allow'
          : `plan classified ${p.classification.protocol} (${p.classification.why})`;
    const ok = allowed ? got === 'allow' : p.kind === 'deny' && p.reason === 'protocol_violation';
    if (!ok) out.push({ pair, want: allowed ? 'allow' : 'protocol_violation', got });
  };
  for (const s of TYPES) {
    for (const d of TYPES) {
      const inbound = INBOUND[d];
      const allowed =
        OUTBOUND[s].includes(protocol) && (inbound === 'unenforced' || inbound.includes(protocol));
      run(`${s} → ${d}`, allowed, withTrace, endpoint('src', s), endpoint('dst', d));
    }
    run(`${s} → unmanaged`, OUTBOUND[s].includes(protocol), withTrace, endpoint('src', s), undefined);
  }
  for (const d of TYPES) {
    const inbound = INBOUND[d];
    const allowed = inbound === 'unenforced' || inbound.includes(protocol);
    run(`unmanaged → ${d}`, allowed, withBearer, undefined, endpoint('dst', d));
  }
  return out;
}

/** Asserts the gate treats `req` as the table says, naming every pair that differs. */
export function assertGate(
  req: HttpRequestAttributes,
  protocol: Proto,
  what: string,
  settings?: PolicySettings,
): void {
  const bad = gateMismatches(req, protocol, settings);
  assert.deepEqual(
    bad,
    [],
    `${what}: ${bad.map((b) => `${b.pair}: want ${b.want}, got ${b.got}`).join('; ')}`,
  );
}

/**
 * Asserts that `req` is refused with `protocol_violation` wherever the gate
 * applies: from every managed app type (to any destination, managed or not)
 * and to every enforced app type from an unmanaged caller.
 */
export function assertRefused(req: HttpRequestAttributes, what: string): void {
  const headers = new Map(req.headers);
  if (!headers.has('traceparent')) headers.set('traceparent', TRACEPARENT);
  headers.set('authorization', 'Bearer conformance.token.value');
  const r: HttpRequestAttributes = { ...req, headers };
  const config = createPolicyConfig({ unmanagedDestination: 'passthrough' });
  const bad: string[] = [];
  const pairs: [string, Endpoint | undefined, Endpoint | undefined][] = [];
  for (const s of TYPES) {
    for (const d of TYPES) pairs.push([`${s} → ${d}`, endpoint('src', s), endpoint('dst', d)]);
    pairs.push([`${s} → unmanaged`, endpoint('src', s), undefined]);
  }
  for (const d of TYPES) {
    if (INBOUND[d] !== 'unenforced') pairs.push([`unmanaged → ${d}`, undefined, endpoint('dst', d)]);
  }
  for (const [pair, source, destination] of pairs) {
    const p = plan({ request: r, source, destination, config, fresh: FRESH });
    if (p.kind !== 'deny' || p.reason !== 'protocol_violation') {
      bad.push(`${pair}: ${p.kind === 'deny' ? `deny ${p.reason}` : `plan (${p.classification.protocol})`}`);
    }
  }
  assert.deepEqual(bad, [], `${what}: not refused by the gate: ${bad.join('; ')}`);
}
