// State-of-the-world xDS on one stream (StreamAggregatedResources and the
// per-type Stream* methods). Rules, from
// https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol :
//   - a request carrying a nonce other than the last one sent for its type is
//     stale and ignored entirely ("Resource updates");
//   - the request answering the last nonce is an ACK, or a NACK if
//     error_detail is set; it is counted once even if the client repeats the
//     nonce to change its subscription;
//   - resource_names is the full subscription; "*" is the wildcard, and an
//     empty list before any explicit subscription is the legacy wildcard
//     ("How the client specifies what resources to return");
//   - Listener/Cluster responses carry every subscribed resource; other types
//     only what is new or changed ("Grouping Resources into Responses");
//   - nothing is sent unless what the client would receive differs from what it
//     was last sent. A NACKed response is therefore never resent as is: it is
//     parked until the snapshot (or the subscription) changes, and the version
//     the client last ACKed remains the one it runs.
import {
  type DiscoveryRequest,
  type DiscoveryResponse,
  isFullStateType,
  type StreamKind,
} from './discovery.js';
import { EMPTY_VERSION, type NodeSnapshot, type SnapshotResource } from './snapshot-store.js';
import { isNack, type TypeTracking, XdsStream } from './xds-stream.js';

interface SotwTypeState extends TypeTracking {
  wildcard: boolean;
  /** Set once the client named resources (or "*"): the legacy wildcard is gone. */
  explicit: boolean;
  names: Set<string>;
  /** name -> version of what this client was last sent (and has seen). */
  clientHas: Map<string, string>;
  sentAny: boolean;
  lastNonce: string;
  /** Last nonce already counted as ACK or NACK. */
  answeredNonce: string;
}

export class SotwStream extends XdsStream<DiscoveryRequest, DiscoveryResponse, SotwTypeState> {
  readonly kind: StreamKind = 'sotw';
  /** Requests ignored for carrying a stale nonce (diagnostics). */
  staleRequests = 0;

  handle(req: DiscoveryRequest): void {
    if (this.closed) return;
    const typeUrl = this.typeUrlOf(req.type_url);
    this.bindNode(req.node);
    const { state } = this.stateFor(typeUrl, newState);
    const nonce = req.response_nonce ?? '';
    // Before the first response there is nothing to be stale against: a client
    // reconnecting with its previous stream's nonce is served like a new one.
    if (nonce !== '' && state.lastNonce !== '') {
      if (nonce !== state.lastNonce) {
        this.staleRequests++;
        return;
      }
      if (state.answeredNonce !== nonce) {
        state.answeredNonce = nonce;
        const version = state.sent ?? '';
        if (isNack(req.error_detail)) this.reportNack(typeUrl, state, version, nonce, req.error_detail);
        else this.reportAck(typeUrl, state, version, nonce);
      }
    }
    this.subscribe(typeUrl, state, req.resource_names ?? []);
    this.update(typeUrl, state);
  }

  private subscribe(typeUrl: string, state: SotwTypeState, names: readonly string[]): void {
    if (!state.explicit && names.length === 0) {
      state.wildcard = true;
      return;
    }
    this.checkNames(names.length, typeUrl);
    state.explicit = true;
    const next = new Set(names);
    state.wildcard = next.delete('*');
    state.names = next;
    if (!state.wildcard) {
      // Forget what the client had of names it dropped, so that subscribing
      // again resends them even if unchanged (required by the protocol).
      for (const name of state.clientHas.keys()) if (!next.has(name)) state.clientHas.delete(name);
    }
  }

  protected refresh(typeUrl: string, state: SotwTypeState, snapshot: NodeSnapshot): void {
    const typeSnapshot = snapshot.types.get(typeUrl);
    const desired = select(typeSnapshot?.resources, state);
    let resources: SnapshotResource[];
    if (isFullStateType(typeUrl)) {
      // A first response is due even when empty: it completes the client's initial fetch.
      if (state.sentAny && sameContent(desired, state.clientHas)) return;
      resources = desired;
      state.clientHas = new Map(desired.map((r) => [r.name, r.version]));
    } else {
      resources = desired.filter((r) => state.clientHas.get(r.name) !== r.version);
      if (resources.length === 0) return;
      for (const r of resources) state.clientHas.set(r.name, r.version);
    }
    const version = typeSnapshot?.version ?? EMPTY_VERSION;
    const nonce = this.nextNonce();
    state.sentAny = true;
    state.lastNonce = nonce;
    state.sent = version;
    this.emit(
      { version_info: version, resources: resources.map((r) => r.any), type_url: typeUrl, nonce },
      { typeUrl, version, nonce, resources: resources.length, removed: 0 },
    );
  }
}

function newState(): SotwTypeState {
  return {
    wildcard: false,
    explicit: false,
    names: new Set(),
    clientHas: new Map(),
    sentAny: false,
    lastNonce: '',
    answeredNonce: '',
  };
}

/** The subscribed resources that exist, in name order. */
function select(
  resources: ReadonlyMap<string, SnapshotResource> | undefined,
  state: SotwTypeState,
): SnapshotResource[] {
  if (!resources) return [];
  if (state.wildcard) return [...resources.values()];
  const out: SnapshotResource[] = [];
  for (const name of state.names) {
    const r = resources.get(name);
    if (r) out.push(r);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function sameContent(desired: readonly SnapshotResource[], has: ReadonlyMap<string, string>): boolean {
  if (desired.length !== has.size) return false;
  return desired.every((r) => has.get(r.name) === r.version);
}
