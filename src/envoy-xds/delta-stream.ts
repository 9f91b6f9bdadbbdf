// Incremental ("delta") xDS on one stream (DeltaAggregatedResources and the
// per-type Delta* methods). Rules, from
// https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds :
//   - subscriptions change by resource_names_subscribe / _unsubscribe, even on
//     a request with a stale nonce; "*" is the wildcard, and a first request
//     subscribing to nothing is the legacy wildcard;
//   - only new or changed resources are sent; deleted ones, and subscribed
//     names that do not exist, go in removed_resources;
//   - initial_resource_versions on a (re)connect says what the client already
//     has, so unchanged resources are not sent again;
//   - a name in resource_names_subscribe is sent even if the client seems to
//     have it; unsubscribing a name while also on the wildcard is answered with
//     the resource or its removal ("Unsubscribing from Resources");
//   - the nonce pairs an ACK/NACK (error_detail) with a response. What was
//     sent counts as the client's state, so a NACKed version is parked rather
//     than resent; the next change of a resource is sent normally.
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DeltaResource,
  StreamKind,
} from './discovery.js';
import { EMPTY_VERSION, type NodeSnapshot } from './snapshot-store.js';
import { isNack, type TypeTracking, XdsStream } from './xds-stream.js';

/** clientHas value for "told the client this subscribed name does not exist". */
const ABSENT = '';
/** Responses awaiting an ACK/NACK that are remembered per type. */
const MAX_OUTSTANDING = 16;

interface DeltaTypeState extends TypeTracking {
  wildcard: boolean;
  names: Set<string>;
  /** name -> version the client has (or ABSENT). */
  clientHas: Map<string, string>;
  /** Names unsubscribed while on the wildcard: answer with the resource or its removal. */
  recheck: Set<string>;
  sentAny: boolean;
  /** nonce -> system_version_info of responses not yet ACKed/NACKed. */
  outstanding: Map<string, string>;
}

export class DeltaStream extends XdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse, DeltaTypeState> {
  readonly kind: StreamKind = 'delta';

  handle(req: DeltaDiscoveryRequest): void {
    if (this.closed) return;
    const typeUrl = this.typeUrlOf(req.type_url);
    this.bindNode(req.node);
    const { state, first } = this.stateFor(typeUrl, newState);
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];

    if (first) {
      const initial = Object.entries(req.initial_resource_versions ?? {});
      this.checkNames(initial.length, typeUrl);
      for (const [name, version] of initial) state.clientHas.set(name, String(version));
      if (subscribe.length === 0 && unsubscribe.length === 0) state.wildcard = true;
    }

    const nonce = req.response_nonce ?? '';
    const answered = nonce === '' ? undefined : state.outstanding.get(nonce);
    if (answered !== undefined) {
      state.outstanding.delete(nonce);
      if (isNack(req.error_detail)) this.reportNack(typeUrl, state, answered, nonce, req.error_detail);
      else this.reportAck(typeUrl, state, answered, nonce);
    }

    for (const name of subscribe) {
      if (name === '*') {
        state.wildcard = true;
        continue;
      }
      state.names.add(name);
      // Sent even if the client seems to have it: it may have forgotten it.
      if (!first) state.clientHas.delete(name);
    }
    for (const name of unsubscribe) {
      if (name === '*') {
        state.wildcard = false;
        continue;
      }
      state.names.delete(name);
      state.clientHas.delete(name);
      state.recheck.add(name);
    }
    this.checkNames(state.names.size, typeUrl);
    this.update(typeUrl, state);
  }

  protected refresh(typeUrl: string, state: DeltaTypeState, snapshot: NodeSnapshot): void {
    const available = snapshot.types.get(typeUrl)?.resources;
    const resources: DeltaResource[] = [];
    const removed = new Set<string>();
    const send = (name: string) => {
      const r = available?.get(name);
      if (r && state.clientHas.get(name) !== r.version) {
        resources.push({ name, version: r.version, resource: r.any });
        state.clientHas.set(name, r.version);
      }
    };

    if (state.wildcard && available) for (const name of available.keys()) send(name);
    for (const name of state.names) {
      if (available?.has(name)) send(name);
      else if (state.clientHas.get(name) !== ABSENT) {
        removed.add(name); // subscribed but does not exist (or no longer)
        state.clientHas.set(name, ABSENT);
      }
    }
    for (const [name, version] of state.clientHas) {
      const subscribed = state.names.has(name);
      if (!subscribed && !state.wildcard) {
        state.clientHas.delete(name); // unsubscribed: the client dropped it itself
      } else if (version !== ABSENT && !available?.has(name)) {
        removed.add(name); // deleted from the snapshot
        if (subscribed) state.clientHas.set(name, ABSENT);
        else state.clientHas.delete(name);
      } else if (version === ABSENT && !subscribed) {
        state.clientHas.delete(name);
      }
    }
    if (state.wildcard) {
      for (const name of state.recheck) if (!available?.has(name)) removed.add(name);
    }
    state.recheck.clear();

    const firstWildcard = !state.sentAny && state.wildcard;
    if (resources.length === 0 && removed.size === 0 && !firstWildcard) return;

    const version = snapshot.types.get(typeUrl)?.version ?? EMPTY_VERSION;
    const nonce = this.nextNonce();
    state.sentAny = true;
    state.sent = version;
    state.outstanding.set(nonce, version);
    if (state.outstanding.size > MAX_OUTSTANDING) {
      const oldest = state.outstanding.keys().next().value;
      if (oldest !== undefined) state.outstanding.delete(oldest);
    }
    const removedList = [...removed].sort();
    this.emit(
      { system_version_info: version, resources, type_url: typeUrl, removed_resources: removedList, nonce },
      { typeUrl, version, nonce, resources: resources.length, removed: removedList.length },
    );
  }
}

function newState(): DeltaTypeState {
  return {
    wildcard: false,
    names: new Set(),
    clientHas: new Map(),
    recheck: new Set(),
    sentAny: false,
    outstanding: new Map(),
  };
}
