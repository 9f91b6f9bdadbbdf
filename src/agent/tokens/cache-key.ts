// Cache keys are SHA-256 digests, never raw tokens: a heap dump or a debug
// listing of a cache shows no credential. Parts are length-prefixed so that
// ("ab","c") and ("a","bc") cannot collide.
import { createHash } from 'node:crypto';

export function cacheKey(...parts: readonly (string | undefined)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    if (p === undefined) h.update('-;');
    else
      h.update(`${Buffer.byteLength(p)}:`)
        .update(p)
        .update(';');
  }
  return h.digest('base64url');
}
