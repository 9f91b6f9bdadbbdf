// Pods by UID and by IP, updated one pod at a time. A pod's identity is its
// UID: an IP is only a claim, made by a Running, non-terminating,
// non-host-network pod, and withdrawn the moment the pod is deleted, stops
// running or changes IP. When two pods claim one IP (a new pod got the address
// before the old one's deletion reached us), the newest pod wins — creation
// time, then UID for a deterministic tie — and the conflict is a warning.
import type { PodRecord } from './objects.js';

export function claimsIp(pod: PodRecord): boolean {
  return pod.phase === 'Running' && !pod.terminating && !pod.hostNetwork && pod.ips.length > 0;
}

function newer(a: PodRecord, b: PodRecord): boolean {
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt;
  return a.uid > b.uid;
}

export class PodIndex {
  private readonly byUid = new Map<string, PodRecord>();
  /** IP → UIDs of the pods claiming it (an array: almost always one). */
  private readonly claims = new Map<string, string[]>();
  private readonly byNamespace = new Map<string, Set<string>>();

  get size(): number {
    return this.byUid.size;
  }

  get(uid: string): PodRecord | undefined {
    return this.byUid.get(uid);
  }

  all(): IterableIterator<PodRecord> {
    return this.byUid.values();
  }

  upsert(pod: PodRecord): void {
    this.remove(pod.uid);
    this.byUid.set(pod.uid, pod);
    let ns = this.byNamespace.get(pod.namespace);
    if (!ns) {
      ns = new Set();
      this.byNamespace.set(pod.namespace, ns);
    }
    ns.add(pod.uid);
    if (!claimsIp(pod)) return;
    for (const ip of pod.ips) {
      const list = this.claims.get(ip);
      if (!list) this.claims.set(ip, [pod.uid]);
      else if (!list.includes(pod.uid)) list.push(pod.uid);
    }
  }

  remove(uid: string): PodRecord | undefined {
    const pod = this.byUid.get(uid);
    if (!pod) return undefined;
    this.byUid.delete(uid);
    const ns = this.byNamespace.get(pod.namespace);
    ns?.delete(uid);
    if (ns?.size === 0) this.byNamespace.delete(pod.namespace);
    for (const ip of pod.ips) {
      const list = this.claims.get(ip)?.filter((u) => u !== uid);
      if (list === undefined) continue;
      if (list.length === 0) this.claims.delete(ip);
      else this.claims.set(ip, list);
    }
    return pod;
  }

  /** The pod an IP belongs to now, if any pod claims it. */
  byIp(ip: string): PodRecord | undefined {
    const list = this.claims.get(ip);
    if (!list) return undefined;
    if (list.length === 1) return this.byUid.get(list[0] as string);
    let best: PodRecord | undefined;
    for (const uid of list) {
      const p = this.byUid.get(uid);
      if (p && (!best || newer(p, best))) best = p;
    }
    return best;
  }

  inNamespace(namespace: string): PodRecord[] {
    const out: PodRecord[] = [];
    for (const uid of this.byNamespace.get(namespace) ?? []) {
      const p = this.byUid.get(uid);
      if (p) out.push(p);
    }
    return out;
  }

  /** IPs claimed by more than one pod, with the winner first. */
  conflicts(): { ip: string; pods: PodRecord[] }[] {
    const out: { ip: string; pods: PodRecord[] }[] = [];
    for (const [ip, list] of this.claims) {
      if (list.length < 2) continue;
      const pods = list.map((u) => this.byUid.get(u)).filter((p): p is PodRecord => p !== undefined);
      pods.sort((a, b) => (newer(a, b) ? -1 : 1));
      out.push({ ip, pods });
    }
    return out;
  }
}
