// What a runtime response means: JSON 2xx, or the RuntimeError kind of its status and body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reasonCode, refusal, successJson } from '../../../src/agent/tokens/response.js';
import { RuntimeError, type RuntimeErrorKind } from '../../../src/agent/tokens/runtime-client.js';
import type { RuntimeResponse } from '../../../src/agent/tokens/runtime-transport.js';

const res = (
  status: number,
  body: string,
  mediaType: string | null = 'application/json',
): RuntimeResponse => ({
  status,
  mediaType: mediaType ?? undefined,
  body: Buffer.from(body),
});

function kindOf(fn: () => unknown): { kind: RuntimeErrorKind; reason?: string; status?: number } | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof RuntimeError);
    return { kind: e.kind, reason: e.runtimeReason, status: e.status };
  }
}

describe('successJson', () => {
  const rows: [string, RuntimeResponse, ReturnType<typeof kindOf>][] = [
    ['200 JSON', res(200, '{"a":1}'), 'ok'],
    ['200 application/problem+json', res(200, '{}', 'application/problem+json'), 'ok'],
    [
      '200 HTML',
      res(200, '<html></html>', 'text/html'),
      { kind: 'bad_response', reason: undefined, status: 200 },
    ],
    [
      '200 without a content type',
      res(200, '{}', null),
      { kind: 'bad_response', reason: undefined, status: 200 },
    ],
    [
      '200 truncated JSON',
      res(200, '{"active":tr'),
      { kind: 'bad_response', reason: undefined, status: 200 },
    ],
    ['200 empty body', res(200, ''), { kind: 'bad_response', reason: undefined, status: 200 }],
    [
      '500 text/plain (FastAPI)',
      res(500, 'Internal Server Error', 'text/plain'),
      { kind: 'bad_response', reason: undefined, status: 500 },
    ],
    [
      '503 JSON',
      res(503, '{"error":"temporarily_unavailable"}'),
      { kind: 'bad_response', reason: undefined, status: 503 },
    ],
    [
      '401 invalid_client',
      res(401, '{"error":"invalid_client"}'),
      { kind: 'rejected', reason: 'invalid_client', status: 401 },
    ],
    [
      '403 CASA deny reason',
      res(403, '{"error":"tool_intent_mismatch"}'),
      { kind: 'rejected', reason: 'tool_intent_mismatch', status: 403 },
    ],
    [
      '422 FastAPI validation',
      res(422, '{"detail":[{"type":"missing"}]}'),
      { kind: 'rejected', reason: undefined, status: 422 },
    ],
    [
      '404 {"detail":"Token not found"}',
      res(404, '{"detail":"Token not found"}'),
      { kind: 'rejected', reason: undefined, status: 404 },
    ],
    [
      '403 HTML (a proxy)',
      res(403, '<html>', 'text/html'),
      { kind: 'bad_response', reason: undefined, status: 403 },
    ],
    ['400 broken JSON', res(400, '{"error":'), { kind: 'bad_response', reason: undefined, status: 400 }],
    [
      '302 redirect (not followed)',
      res(302, '', null),
      { kind: 'bad_response', reason: undefined, status: 302 },
    ],
  ];
  for (const [name, r, want] of rows) {
    it(`${name} → ${typeof want === 'string' ? want : want.kind}`, () => {
      assert.deepEqual(
        kindOf(() => successJson(r, 'op')),
        want,
      );
    });
  }

  it('never quotes the body in the message', () => {
    const e = refusal(res(401, '{"error":"invalid_client","error_description":"token eyJsecret"}'), 'op');
    assert.ok(!e.message.includes('eyJsecret'));
  });
});

describe('reasonCode', () => {
  const rows: [unknown, string | undefined][] = [
    [{ error: 'invalid_grant', error_description: 'x' }, 'invalid_grant'],
    [{ detail: 'tool_intent_mismatch' }, 'tool_intent_mismatch'],
    [{ detail: { error: 'modified_mcp_tool_defs' } }, 'modified_mcp_tool_defs'],
    [{ detail: { reason: 'insufficient_scope' } }, 'insufficient_scope'],
    [{ reason: 'no_llm_calls_made_by_app' }, 'no_llm_calls_made_by_app'],
    [{ detail: 'Token not found' }, undefined],
    [{ detail: [{ type: 'missing' }] }, undefined],
    [{ error: 'x'.repeat(100) }, undefined],
    [{ error: 'has space' }, undefined],
    [{ error: 42 }, undefined],
    ['invalid_grant', undefined],
    [null, undefined],
  ];
  for (const [body, want] of rows) {
    it(`${JSON.stringify(body).slice(0, 60)} → ${want}`, () => assert.equal(reasonCode(body), want));
  }
});
