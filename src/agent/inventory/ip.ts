// One spelling per IP address, so that a pod IP from the Kubernetes API and a
// socket address from Envoy meet in the same map key. IPv6 is written the
// RFC 5952 way (lower case, no leading zeros, the longest run of two or more
// zero groups as `::`); an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a
// dual-stack socket reports for an IPv4 peer) is written as the IPv4 address.
import { isIPv4, isIPv6 } from 'node:net';

/** The canonical text of an IP address, or undefined when `raw` is not one. */
export function canonicalIp(raw: string): string | undefined {
  let s = raw.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  // A zone (`fe80::1%eth0`) names a local interface; pod addresses have none.
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (isIPv4(s)) return s;
  if (!isIPv6(s)) return undefined;
  const groups = expandIpv6(s.toLowerCase());
  if (groups === undefined) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return compressIpv6(groups);
}

/** Eight 16-bit groups of a valid IPv6 text (embedded IPv4 tails included). */
function expandIpv6(s: string): number[] | undefined {
  let text = s;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const v4 = text.slice(lastColon + 1);
  if (v4.includes('.')) {
    const parts = v4.split('.').map(Number);
    tail.push(((parts[0] ?? 0) << 8) | (parts[1] ?? 0), ((parts[2] ?? 0) << 8) | (parts[3] ?? 0));
    text = `${text.slice(0, lastColon + 1)}0`;
    // `0` stands in for the two IPv4 groups; it is dropped again below.
  }
  const halves = text.split('::');
  const parse = (h: string): number[] => (h === '' ? [] : h.split(':').map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0] ?? '');
  const rest = halves.length > 1 ? parse(halves[1] ?? '') : [];
  const placeholder = tail.length > 0 ? 1 : 0;
  const explicit = head.length + rest.length - placeholder + tail.length;
  const zeros = halves.length > 1 ? 8 - explicit : 0;
  const all = [...head, ...new Array<number>(Math.max(zeros, 0)).fill(0), ...rest];
  if (placeholder) all.pop();
  all.push(...tail);
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : undefined;
}

function compressIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
