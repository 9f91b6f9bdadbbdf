// `casa-agent diag`: a readable summary of a running agent, from its
// diagnostics endpoint (readiness, state, recent denies, key counters).
import { request } from 'undici';
import type { DecisionRecord } from '../../diag/decision-log.js';
import type { AgentState } from '../../diag/state.js';
import type { CommandContext } from '../context.js';

interface Fetched {
  status: number;
  text: string;
}

async function get(base: string, path: string): Promise<Fetched> {
  const res = await request(new URL(path, base), { method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
  return { status: res.statusCode, text: await res.body.text() };
}

export default async function diag(ctx: CommandContext): Promise<number> {
  const base = String(ctx.extra.url ?? 'http://127.0.0.1:9193');
  let ready: Fetched;
  let state: Fetched;
  let decisions: Fetched;
  let metrics: Fetched;
  try {
    [ready, state, decisions, metrics] = await Promise.all([
      get(base, '/readyz?verbose'),
      get(base, '/debug/state'),
      get(base, '/debug/decisions?limit=10&decision=deny'),
      get(base, '/metrics'),
    ]);
  } catch (err) {
    ctx.stderr.write(`casa-agent diag: cannot reach ${base}: ${(err as Error).message}\n`);
    return 1;
  }
  if (ctx.extra.json) {
    ctx.stdout.write(
      `${JSON.stringify({ readiness: parse(ready.text), state: parse(state.text), denies: parse(decisions.text) }, null, 2)}\n`,
    );
    return ready.status === 200 ? 0 : 1;
  }
  const s = parse(state.text) as AgentState | undefined;
  const r = parse(ready.text) as { ready?: boolean; waitingFor?: string[] } | undefined;
  const d = parse(decisions.text) as { decisions?: DecisionRecord[] } | undefined;
  ctx.stdout.write(summarize(base, s, r, d?.decisions ?? [], metrics.text));
  return ready.status === 200 ? 0 : 1;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Sums a counter's samples from Prometheus text, optionally filtered by a label substring. */
function counter(metrics: string, name: string, labelHas?: string): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(name)) continue;
    if (labelHas && !line.includes(labelHas)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

export function summarize(
  base: string,
  s: AgentState | undefined,
  r: { ready?: boolean; waitingFor?: string[] } | undefined,
  denies: readonly DecisionRecord[],
  metrics: string,
): string {
  const out: string[] = [];
  const readyText = r?.ready ? 'READY' : `NOT READY (waiting for: ${(r?.waitingFor ?? ['?']).join('; ')})`;
  out.push(`casa-agent ${s?.version ?? '?'} at ${base} on node ${s?.node ?? '?'}: ${readyText}`);
  if (!s) {
    out.push('  /debug/state did not answer with JSON');
    return `${out.join('\n')}\n`;
  }
  out.push(`  data plane   ${s.dataplane.mode} (${s.dataplane.why})`);
  out.push(
    `  listening    ${Object.entries(s.listen)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const inv = s.inventory;
  out.push(
    `  inventory    ${inv.source}, ${inv.synced ? 'synced' : 'NOT synced'}; ${inv.localWorkloads.length} workload(s) on this node, ${inv.clusterWorkloads} cluster-wide; ${inv.multiAgentSystems.length} MAS`,
  );
  for (const w of inv.localWorkloads.slice(0, 20)) {
    out.push(
      `               ${w.namespace}/${w.pod} ${w.ips.join(',')} → ${w.mas}/${w.app} (${w.type})${w.credentials ? '' : ' NO CREDENTIALS'}`,
    );
  }
  for (const warn of inv.warnings.slice(0, 10)) out.push(`  warning      ${warn}`);
  const rt = s.runtime;
  out.push(
    `  runtime      ${rt.profile} ${rt.url ?? '(none)'}: ${rt.reachable ? 'reachable' : 'UNREACHABLE'}${rt.lastOkAt ? `, last ok ${rt.lastOkAt}` : ''}${rt.lastError ? `, last error: ${rt.lastError}` : ''}`,
  );
  for (const [name, c] of Object.entries(s.caches)) {
    const total = (c.hits ?? 0) + (c.misses ?? 0);
    const rate = total > 0 ? ` hit rate ${(((c.hits ?? 0) / total) * 100).toFixed(1)}%` : '';
    out.push(
      `  cache        ${name}: ${c.entries} entries${c.bytes !== undefined ? `, ${c.bytes} bytes` : ''}${rate}`,
    );
  }
  out.push(`  xds          ${s.xds.clients.length} client stream(s)`);
  for (const c of s.xds.clients.slice(0, 10)) {
    const types = Object.entries(c.types)
      .map(
        ([t, v]) =>
          `${t.split('.').pop()} ${v.acked ?? '-'}${v.nacked ? ` (NACKED ${v.nacked}: ${v.error ?? ''})` : ''}`,
      )
      .join(', ');
    out.push(`               ${c.node} [${c.kind}] ${types}`);
  }
  if (s.apply) out.push(`  apply        ${applyLine(s.apply)}`);
  const allows = counter(metrics, 'casa_authz_checks_total{', 'decision="allow"');
  const deniesTotal = counter(metrics, 'casa_authz_checks_total{', 'decision="deny"');
  out.push(`  checks       ${allows} allowed, ${deniesTotal} denied, ${s.authz.checksInFlight} in flight`);
  if (denies.length > 0) {
    out.push('  recent denies:');
    for (const d of denies) {
      out.push(
        `    ${d.at} ${d.reason ?? '?'} ${d.method} ${d.host}${d.path} ${d.source ?? '-'} → ${d.destination ?? '-'}${d.message ? `: ${d.message}` : ''}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

/** The in-cluster apply line: who writes the cluster-wide objects, and how it went. */
function applyLine(a: NonNullable<AgentState['apply']>): string {
  if (!a.enabled) return `configured but off: ${a.why}`;
  const e = a.election;
  const role = e.leader
    ? `LEADER (Lease ${e.lease})`
    : `follower (Lease ${e.lease} held by ${e.holder ?? 'nobody'})`;
  const last = a.lastSuccessAt ? `, last applied ${a.lastSuccessAt}, ${a.objects.length} object(s)` : '';
  const failing =
    a.consecutiveFailures > 0 ? `, FAILING ×${a.consecutiveFailures}: ${a.lastError ?? '?'}` : '';
  const lease = e.lastError ? `, Lease error: ${e.lastError}` : '';
  return `${role}${last}${failing}${lease}`;
}
