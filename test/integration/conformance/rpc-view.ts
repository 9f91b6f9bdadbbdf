// An independent reading of a recorded JSON-RPC body with JSON.parse — what
// the SDK actually sent — to compare with what the policy's own byte-level
// reader extracted.

export interface RpcMessageView {
  /** Absent for a response. */
  readonly method?: string;
  /** `params.name` when it is a string. */
  readonly name?: string;
  /** `params.uri` when it is a string. */
  readonly uri?: string;
}

/** The messages of a JSON-RPC body (one, or a batch); [] when the body is empty or not JSON. */
export function jsonRpcView(body: Uint8Array): RpcMessageView[] {
  if (body.length === 0) return [];
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return [];
  }
  const list = Array.isArray(v) ? v : [v];
  return list.map((m) => {
    const o = (m ?? {}) as { method?: unknown; params?: { name?: unknown; uri?: unknown } };
    const params = o.params ?? {};
    return {
      method: typeof o.method === 'string' ? o.method : undefined,
      name: typeof params.name === 'string' ? params.name : undefined,
      uri: typeof params.uri === 'string' ? params.uri : undefined,
    };
  });
}
