// Istio's `x-envoy-peer-metadata` request header: the base64 of a serialized
// `google.protobuf.Struct` holding the sending proxy's node metadata (keys
// NAME, NAMESPACE, WORKLOAD_NAME, OWNER, CLUSTER_ID, LABELS, …). The client
// sidecar's peer-metadata filter sets it (overwriting whatever the app sent)
// on requests it forwards, so at the SIDECAR_OUTBOUND ext_authz it names the
// calling workload; the server sidecar reads and removes it before its own
// filters run (istio/proxy source/extensions/filters/http/peer_metadata).
//
// Untrusted input at a security boundary: strict base64 (standard alphabet,
// padded or not — CASA tries StdEncoding, then RawStdEncoding), a size bound,
// and a real protobuf decode of google/protobuf/struct.proto (protobufjs),
// never a hand-written parser. Only string fields and the LABELS struct are read.
import protobuf from 'protobufjs';

export const PEER_METADATA_HEADER = 'x-envoy-peer-metadata';
export const PEER_METADATA_ID_HEADER = 'x-envoy-peer-metadata-id';

/** Envoy's default max request header size is 60 KiB; a bigger value cannot be real. */
export const MAX_PEER_METADATA_BYTES = 64 * 1024;

/** The fields of a proxy's node metadata this agent reads (istio/proxy extensions/common/metadata_object.h). */
export interface PeerMetadata {
  /** `NAME`: the pod name. */
  readonly name?: string;
  /** `NAMESPACE`. */
  readonly namespace?: string;
  /** `WORKLOAD_NAME`: the controlling workload (Deployment, StatefulSet, …) — what CASA matches. */
  readonly workloadName?: string;
  /** `OWNER`, e.g. `kubernetes://apis/apps/v1/namespaces/ns/deployments/name`. */
  readonly owner?: string;
  /** `CLUSTER_ID`. */
  readonly clusterId?: string;
  /** `LABELS`: string-valued pod labels (the canonical ones, or all of them in older Istio). */
  readonly labels: Readonly<Record<string, string>>;
}

export type PeerMetadataResult =
  | { readonly ok: true; readonly metadata: PeerMetadata }
  | { readonly ok: false; readonly reason: string };

const STRING_FIELDS = [
  ['NAME', 'name'],
  ['NAMESPACE', 'namespace'],
  ['WORKLOAD_NAME', 'workloadName'],
  ['OWNER', 'owner'],
  ['CLUSTER_ID', 'clusterId'],
] as const;

/**
 * `google.protobuf.Value` as protobufjs decodes it (only the members we read).
 * Unset oneof members read as their defaults (""), so `kind` — the name of
 * the member that was set — is what tells a string from anything else.
 */
interface ValueMessage {
  kind?: string;
  stringValue?: string;
  structValue?: StructMessage;
}
interface StructMessage {
  fields?: Record<string, ValueMessage>;
}

const STD = /^[A-Za-z0-9+/]*$/;

/**
 * Strict standard base64: padded (length a multiple of 4, at most two `=`) or
 * unpadded (no `=`, length mod 4 ≠ 1). Node's own decoder skips bad
 * characters silently, so the alphabet is checked first.
 */
export function decodeStdBase64(text: string): Uint8Array | undefined {
  const s = text.trim();
  const body = s.replace(/={1,2}$/, '');
  if (!STD.test(body)) return undefined;
  const padded = body.length !== s.length;
  if (padded && s.length % 4 !== 0) return undefined;
  if (!padded && body.length % 4 === 1) return undefined;
  return Buffer.from(body, 'base64');
}

/** Decoded headers kept, at most (a sidecar sends the same value on every request). */
const CACHE_ENTRIES = 1024;
/** Only headers up to this size are kept, so the cache holds at most ~4 MiB of keys. */
const CACHE_KEY_BYTES = 4096;

/**
 * Decodes and encodes the header with the real `google.protobuf.Struct` type.
 * A decode costs ~20 µs and every request of a workload carries the same
 * value, so readable values are remembered (bounded, oldest dropped first),
 * as Istio's own filter caches them by `x-envoy-peer-metadata-id`.
 */
export class PeerMetadataCodec {
  private readonly struct: protobuf.Type;
  private readonly decoded = new Map<string, PeerMetadata>();

  constructor() {
    // protobufjs resolves google/protobuf/*.proto from its bundled copies of
    // the well-known types, so no file needs to ship with the agent.
    const root = new protobuf.Root();
    root.loadSync('google/protobuf/struct.proto');
    this.struct = root.lookupType('google.protobuf.Struct');
  }

  /** Headers remembered (for tests and diagnostics). */
  get cachedEntries(): number {
    return this.decoded.size;
  }

  decode(header: string): PeerMetadataResult {
    const hit = this.decoded.get(header);
    if (hit) return { ok: true, metadata: hit };
    const r = this.decodeUncached(header);
    if (r.ok && header.length <= CACHE_KEY_BYTES) {
      if (this.decoded.size >= CACHE_ENTRIES) {
        const oldest = this.decoded.keys().next().value;
        if (oldest !== undefined) this.decoded.delete(oldest);
      }
      this.decoded.set(header, r.metadata);
    }
    return r;
  }

  private decodeUncached(header: string): PeerMetadataResult {
    if (header.length === 0) return { ok: false, reason: 'the header is empty' };
    if (header.length > MAX_PEER_METADATA_BYTES * 2) {
      return { ok: false, reason: `the header is longer than ${MAX_PEER_METADATA_BYTES} bytes` };
    }
    const bytes = decodeStdBase64(header);
    if (bytes === undefined) return { ok: false, reason: 'the header is not standard base64' };
    if (bytes.length > MAX_PEER_METADATA_BYTES) {
      return { ok: false, reason: `the decoded header is longer than ${MAX_PEER_METADATA_BYTES} bytes` };
    }
    let msg: StructMessage;
    try {
      msg = this.struct.decode(bytes) as unknown as StructMessage;
    } catch (err) {
      return { ok: false, reason: `not a protobuf Struct (${(err as Error).message})` };
    }
    const fields = msg.fields ?? {};
    const out: { -readonly [K in keyof PeerMetadata]: PeerMetadata[K] } = { labels: {} };
    for (const [key, prop] of STRING_FIELDS) {
      const v = fields[key];
      if (v === undefined) continue;
      if (v.kind !== 'stringValue' || typeof v.stringValue !== 'string') {
        return { ok: false, reason: `${key} is not a string` };
      }
      if (v.stringValue !== '') out[prop] = v.stringValue;
    }
    const labels = fields.LABELS?.structValue?.fields;
    if (labels) {
      // fromEntries defines own properties: a label named `__proto__` stays a label.
      out.labels = Object.fromEntries(
        Object.entries(labels).flatMap(([k, v]) =>
          v.kind === 'stringValue' && typeof v.stringValue === 'string' ? [[k, v.stringValue]] : [],
        ),
      );
    }
    // Shared by every Check that carries the same header: never mutated.
    Object.freeze(out.labels);
    return { ok: true, metadata: Object.freeze(out) };
  }

  /**
   * The header value a sidecar would send for `metadata` (standard base64 with
   * padding, as Envoy's Base64::encode writes it). For tests and tools.
   */
  encode(metadata: Partial<PeerMetadata> & { readonly extra?: Readonly<Record<string, string>> }): string {
    const fields: Record<string, ValueMessage> = {};
    for (const [key, prop] of STRING_FIELDS) {
      const v = metadata[prop];
      if (v !== undefined) fields[key] = { stringValue: v };
    }
    for (const [k, v] of Object.entries(metadata.extra ?? {})) fields[k] = { stringValue: v };
    if (metadata.labels && Object.keys(metadata.labels).length > 0) {
      const l = Object.fromEntries(Object.entries(metadata.labels).map(([k, v]) => [k, { stringValue: v }]));
      fields.LABELS = { structValue: { fields: l } };
    }
    const msg = this.struct.fromObject({ fields });
    return Buffer.from(this.struct.encode(msg).finish()).toString('base64');
  }
}
