// The JSON-RPC body reader: JSON.parse's view for valid messages, `incomplete`
// (never a wrong value) for cut bodies, `invalid` for smuggling shapes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type JsonRpcMessage, readJsonRpc } from '../../../src/policy/jsonrpc.js';

const enc = new TextEncoder();

/** JSON.parse's view of a message, in the reader's shape. */
function expected(msg: Record<string, unknown>): JsonRpcMessage {
  const params = msg.params as Record<string, unknown> | undefined;
  const p = params && !Array.isArray(params) ? params : undefined;
  if (typeof msg.method === 'string') {
    const out: Record<string, unknown> = {
      kind: 'id' in msg ? 'request' : 'notification',
      method: msg.method,
      id: 'id' in msg ? msg.id : undefined,
      name: typeof p?.name === 'string' ? p.name : undefined,
      uri: typeof p?.uri === 'string' ? p.uri : undefined,
      nameNotString: p && 'name' in p && typeof p.name !== 'string' ? true : undefined,
    };
    return out as unknown as JsonRpcMessage;
  }
  return { kind: 'response', id: msg.id as string | number | null };
}

/** A JSON serializer that varies whitespace and escapes, to exercise the scanner. */
function serialize(v: unknown, rnd: () => number): string {
  const ws = () => [' ', '', '\n', '\t', '\r\n  '][Math.floor(rnd() * 5)] as string;
  const str = (s: string) => {
    let out = '"';
    for (const ch of s) {
      const c = ch.codePointAt(0) as number;
      if (ch === '"' || ch === '\\' || c < 0x20 || (rnd() < 0.15 && c < 0x10000)) {
        out += `\\u${c.toString(16).padStart(4, '0')}`;
      } else if (ch === '/' && rnd() < 0.5) {
        out += '\\/';
      } else {
        out += ch;
      }
    }
    return `${out}"`;
  };
  const go = (x: unknown): string => {
    if (x === null || typeof x === 'boolean' || typeof x === 'number') return JSON.stringify(x);
    if (typeof x === 'string') return str(x);
    if (Array.isArray(x)) return `[${ws()}${x.map((e) => go(e)).join(`${ws()},${ws()}`)}${ws()}]`;
    const o = x as Record<string, unknown>;
    const parts = Object.keys(o).map((k) => `${ws()}${str(k)}${ws()}:${ws()}${go(o[k])}${ws()}`);
    return `{${parts.join(',')}${parts.length === 0 ? ws() : ''}}`;
  };
  return `${ws()}${go(v)}${ws()}`;
}

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

const json = fc.jsonValue({ maxDepth: 3 });
const idArb = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(null),
);
const extraKey = fc
  .string({ maxLength: 6 })
  .filter((k) => !['jsonrpc', 'method', 'id', 'params', 'result', 'error', '__proto__'].includes(k));
const paramsArb = fc.oneof(
  fc.record(
    {
      name: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), json),
      uri: fc.string({ maxLength: 12 }),
      arguments: json,
    },
    { requiredKeys: [] },
  ),
  fc.array(json, { maxLength: 3 }),
);
const requestArb = fc
  .record(
    {
      method: fc.string({ unit: 'grapheme', maxLength: 16 }),
      id: idArb,
      params: paramsArb,
      extra: json,
      extraKey,
    },
    { requiredKeys: ['method', 'extraKey'] },
  )
  .map(({ extra, extraKey: k, ...m }) => {
    const out: Record<string, unknown> = { jsonrpc: '2.0', ...m };
    if (extra !== undefined) out[k] = extra;
    return out;
  });
const responseArb = fc
  .record({ id: idArb, outcome: fc.boolean(), value: json })
  .map(({ id, outcome, value }) => ({ jsonrpc: '2.0', id, [outcome ? 'result' : 'error']: value }));
const messageArb = fc.oneof({ weight: 4, arbitrary: requestArb }, { weight: 1, arbitrary: responseArb });
const bodyArb = fc.oneof(messageArb, fc.array(messageArb, { minLength: 1, maxLength: 4 }));

describe('readJsonRpc: valid messages read like JSON.parse', () => {
  it('single messages and batches, any whitespace and escaping', () => {
    fc.assert(
      fc.property(bodyArb, fc.integer(), (body, seed) => {
        const text = serialize(body, prng(seed));
        const parsed = JSON.parse(text) as unknown;
        const r = readJsonRpc(enc.encode(text));
        assert.equal(r.kind, 'ok', `${text} → ${JSON.stringify(r)}`);
        if (r.kind !== 'ok') return;
        const list = Array.isArray(parsed) ? parsed : [parsed];
        assert.equal(r.batch, Array.isArray(parsed));
        assert.deepEqual(
          r.messages,
          list.map((m) => expected(m as Record<string, unknown>)),
        );
      }),
      { numRuns: 1500 },
    );
  });

  it('accepts a string body the same as its UTF-8 bytes', () => {
    const text = '{"jsonrpc":"2.0","id":"é","method":"tools/call","params":{"name":"wéather"}}';
    assert.deepEqual(readJsonRpc(text), readJsonRpc(enc.encode(text)));
  });

  it('reads a typical MCP tools/call', () => {
    const r = readJsonRpc(
      enc.encode(
        '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Oslo"}}}',
      ),
    );
    assert.deepEqual(r, {
      kind: 'ok',
      batch: false,
      messages: [
        {
          kind: 'request',
          method: 'tools/call',
          id: 7,
          name: 'get_weather',
          uri: undefined,
          nameNotString: undefined,
        },
      ],
    });
  });
});

describe('readJsonRpc: cut bodies are incomplete, never wrong', () => {
  it('every prefix of a valid body is either the full answer or incomplete', () => {
    fc.assert(
      fc.property(bodyArb, fc.integer(), (body, seed) => {
        const bytes = enc.encode(serialize(body, prng(seed)));
        const full = readJsonRpc(bytes);
        for (let cut = 0; cut < bytes.length; cut++) {
          const r = readJsonRpc(bytes.subarray(0, cut), true);
          if (r.kind === 'ok') assert.deepEqual(r, full, `cut at ${cut}`);
          else if (cut > 0) assert.equal(r.kind, 'incomplete', `cut at ${cut}: ${JSON.stringify(r)}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives hints of what was read before the cut', () => {
    const text =
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"big":"aaaa';
    const r = readJsonRpc(enc.encode(text), true);
    assert.equal(r.kind, 'incomplete');
    if (r.kind === 'incomplete')
      assert.deepEqual(r.seen, [{ method: 'tools/call', name: 'x', uri: undefined }]);
  });

  it('does not trust a method read before the cut: a duplicate could follow', () => {
    const r = readJsonRpc(enc.encode('{"jsonrpc":"2.0","id":1,"method":"tools/list","pad":"xxxxxxxx'), true);
    assert.equal(r.kind, 'incomplete');
  });

  it('a number touching the cut is incomplete (more digits may follow)', () => {
    assert.equal(readJsonRpc(enc.encode('{"jsonrpc":"2.0","method":"m","id":12'), true).kind, 'incomplete');
  });

  it('the same cut without the truncation flag is invalid', () => {
    const r = readJsonRpc(enc.encode('{"jsonrpc":"2.0","id":1,"method":"tools/call"'), false);
    assert.equal(r.kind, 'invalid');
  });
});

describe('readJsonRpc: smuggling and malformed shapes are invalid', () => {
  const cases: [string, string][] = [
    ['', 'empty'],
    ['   ', 'not_json'],
    ['null', 'not_object'],
    ['"tools/call"', 'not_object'],
    ['[]', 'empty_batch'],
    ['[1]', 'not_object'],
    ['{}', 'not_a_message'],
    ['{"jsonrpc":"2.0","method":"a","method":"tools/call","id":1}', 'duplicate_key'],
    ['{"jsonrpc":"2.0","method":"a","m\\u0065thod":"tools/call","id":1}', 'duplicate_key'],
    ['{"jsonrpc":"2.0","method":"tools/call","id":1,"params":{"name":"a","name":"b"}}', 'duplicate_key'],
    [
      '{"jsonrpc":"2.0","method":"tools/call","id":1,"params":{"name":"a","n\\u0061me":"b"}}',
      'duplicate_key',
    ],
    [
      '{"jsonrpc":"2.0","method":"tools/call","id":1,"params":{"name":"a"},"params":{"name":"b"}}',
      'duplicate_key',
    ],
    ['{"jsonrpc":"2.0","method":"resources/read","id":1,"params":{"uri":"a","uri":"b"}}', 'duplicate_key'],
    ['{"jsonrpc":"2.0","jsonrpc":"2.0","method":"a"}', 'duplicate_key'],
    ['{"jsonrpc":"2.0","method":"a","id":1,"id":2}', 'duplicate_key'],
    ['{"jsonrpc":"1.0","method":"a"}', 'bad_jsonrpc_version'],
    ['{"jsonrpc":2,"method":"a"}', 'bad_jsonrpc_version'],
    ['{"method":"a","id":1}', 'bad_jsonrpc_version'],
    ['{"jsonrpc":"2.0","method":5}', 'bad_method'],
    ['{"jsonrpc":"2.0","method":"a","id":{}}', 'bad_id'],
    ['{"jsonrpc":"2.0","method":"a","params":"x"}', 'bad_params'],
    ['{"jsonrpc":"2.0","method":"a","id":1,"result":{}}', 'not_a_message'],
    ['{"jsonrpc":"2.0","id":1}', 'not_a_message'],
    ['{"jsonrpc":"2.0","id":1,"result":1,"error":{}}', 'not_a_message'],
    ['{"jsonrpc":"2.0","result":1}', 'not_a_message'],
    ['{"jsonrpc":"2.0","method":"a"} x', 'trailing_data'],
    ['{"jsonrpc":"2.0","method":"a"}{"jsonrpc":"2.0","method":"b"}', 'trailing_data'],
    ['{"jsonrpc":"2.0","method":"a",}', 'not_json'],
    ["{'jsonrpc':'2.0'}", 'not_json'],
    ['{"jsonrpc":"2.0","method":"a","x":01}', 'not_json'],
    ['{"jsonrpc":"2.0","method":"a","x":"\\x"}', 'not_json'],
    ['{"jsonrpc":"2.0","method":"a\tb"}', 'not_json'],
    [`{"jsonrpc":"2.0","method":"a","x":${'['.repeat(200)}${']'.repeat(200)}}`, 'too_deep'],
  ];
  for (const [text, want] of cases) {
    it(`${text.length > 60 ? `${text.slice(0, 57)}…` : text} → ${want}`, () => {
      const r = readJsonRpc(enc.encode(text));
      assert.equal(r.kind, 'invalid', JSON.stringify(r));
      if (r.kind === 'invalid') assert.equal(r.reason, want);
    });
  }

  it('a duplicate seen before the cut is invalid even when truncated', () => {
    const r = readJsonRpc(enc.encode('{"jsonrpc":"2.0","method":"a","method":"b","pad":"xx'), true);
    assert.equal(r.kind, 'invalid');
  });

  it('rejects invalid UTF-8 in the values it reads', () => {
    const bytes = new Uint8Array([...enc.encode('{"jsonrpc":"2.0","method":"'), 0xff, ...enc.encode('"}')]);
    const r = readJsonRpc(bytes);
    assert.equal(r.kind, 'invalid');
    if (r.kind === 'invalid') assert.equal(r.reason, 'bad_utf8');
  });
});

describe('readJsonRpc: garbage never throws', () => {
  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, truncated) => {
        const r = readJsonRpc(bytes, truncated);
        assert.ok(r.kind === 'ok' || r.kind === 'incomplete' || r.kind === 'invalid');
      }),
      { numRuns: 3000 },
    );
  });

  it('arbitrary JSON-ish text agrees with JSON.parse on validity of single values', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        const r = readJsonRpc(text);
        // A non-object JSON value is never a message.
        const v = JSON.parse(text) as unknown;
        if (v === null || typeof v !== 'object') assert.equal(r.kind, 'invalid');
      }),
      { numRuns: 1000 },
    );
  });
});
