// Builds Envoy ext_authz v3 CheckResponse messages from a Decision. The gRPC
// `status` decides allow (OK) versus deny; a deny always carries an HTTP status
// and the JSON body `{"error": reason, "message": …}` the design prescribes.
import type { Allow, Deny } from '../../policy/types.js';

// google.rpc.Code values (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto).
const RPC_OK = 0;
const RPC_PERMISSION_DENIED = 7;

export interface HeaderValueOptionMessage {
  header: { key: string; value: string };
  append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT';
}

export interface CheckResponseMessage {
  status: { code: number; message?: string };
  ok_response?: {
    headers: HeaderValueOptionMessage[];
    headers_to_remove: string[];
    response_headers_to_add: HeaderValueOptionMessage[];
  };
  denied_response?: {
    status: { code: number };
    headers: HeaderValueOptionMessage[];
    body: string;
  };
}

export function okResponse(allow: Allow): CheckResponseMessage {
  return {
    status: { code: RPC_OK },
    ok_response: {
      headers: allow.headersToSet.map((h) => ({
        header: { key: h.key, value: h.value },
        // The ext_authz filter treats an unset `append` as overwrite; we only use
        // the newer append_action so both old and new Envoy agree.
        append_action: h.overwrite ? 'OVERWRITE_IF_EXISTS_OR_ADD' : 'ADD_IF_ABSENT',
      })),
      headers_to_remove: [...allow.headersToRemove],
      response_headers_to_add: [],
    },
  };
}

export function deniedResponse(d: Deny): CheckResponseMessage {
  return {
    status: { code: RPC_PERMISSION_DENIED, message: d.reason },
    denied_response: {
      status: { code: d.status },
      headers: [
        {
          header: { key: 'content-type', value: 'application/json' },
          append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
        },
        { header: { key: 'cache-control', value: 'no-store' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      ],
      body: denyBody(d),
    },
  };
}

/** `{"error": reason, "message": …}` — the body every deny carries. */
export function denyBody(d: Deny): string {
  return JSON.stringify({ error: d.reason, message: d.message });
}
