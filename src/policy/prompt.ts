// Reads the user's prompt from a request body with an app's
// `promptFieldJsonPath` — the input a T1 (user-input token) is issued for.
// A prompt that cannot be read with certainty is a deny, never a guess:
// a cut body could hide a later duplicate of the prompt field.
import type { JsonPathCache } from './jsonpath.js';
import { type HttpRequestAttributes, hasBody } from './request.js';
import { type Deny, deny } from './types.js';

export type PromptResult =
  | { readonly ok: true; readonly prompt: string }
  | { readonly ok: false; readonly deny: Deny };

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function readPrompt(
  req: HttpRequestAttributes,
  jsonPath: string,
  jsonPaths: JsonPathCache,
): PromptResult {
  const compiled = jsonPaths.get(jsonPath);
  if (compiled instanceof Error) {
    return fail(deny('missing_prompt', `promptFieldJsonPath cannot be used: ${compiled.message}`));
  }
  if (!hasBody(req) || req.body === undefined) {
    return fail(deny('body_required', 'a request that starts a trace must carry the prompt in its body'));
  }
  if (req.body.truncated) {
    return fail(
      deny(
        'body_invalid',
        `body was cut at ${req.body.data.length} bytes; the prompt cannot be read (raise maxRequestBytes)`,
      ),
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(UTF8.decode(req.body.data));
  } catch {
    return fail(deny('body_invalid', 'body is not UTF-8 JSON; the prompt cannot be read'));
  }
  const v = compiled.evaluate(doc);
  if (!v.ok) return fail(deny('missing_prompt', `no prompt at ${jsonPath} (${v.reason})`));
  if (v.value.trim() === '') return fail(deny('missing_prompt', `empty prompt at ${jsonPath}`));
  return { ok: true, prompt: v.value };
}

function fail(d: Deny): PromptResult {
  return { ok: false, deny: d };
}
