// The kubectl JSONPath subset used by promptFieldJsonPath.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compileJsonPath,
  formatJsonPath,
  JsonPathCache,
  JsonPathError,
  type JsonPathStep,
} from '../../../src/policy/jsonpath.js';

const doc = {
  prompt: 'hello',
  a: { b: 'deep', 'key with.dot': 'dotted', n: 42, t: true, nil: null, obj: { x: 1 } },
  messages: [
    { role: 'system', content: 'first' },
    { role: 'user', content: 'last' },
  ],
  list: ['zero', 'one'],
};

describe('compileJsonPath: the subset CASA uses', () => {
  const cases: [string, string | undefined][] = [
    ['{.prompt}', 'hello'],
    ['{$.prompt}', 'hello'],
    ['$.prompt', 'hello'],
    ['.prompt', 'hello'],
    [' { .prompt } ', 'hello'],
    ['{.a.b}', 'deep'],
    ['{.messages[-1].content}', 'last'],
    ['{.messages[0].content}', 'first'],
    ['{.list[1]}', 'one'],
    ['{.list[-2]}', 'zero'],
    ["{.a['key with.dot']}", 'dotted'],
    ['{.a["key with.dot"]}', 'dotted'],
    ["{['prompt']}", 'hello'],
    ['{.a.n}', '42'],
    ['{.a.t}', 'true'],
    ['{.a.obj}', '{"x":1}'],
    ['{.missing}', undefined],
    ['{.a.nil}', undefined],
    ['{.list[2]}', undefined],
    ['{.list[-3]}', undefined],
    ['{.prompt.x}', undefined],
    ['{.prompt[0]}', undefined],
    ['{.list.x}', undefined],
    ['{.a.constructor}', undefined],
  ];
  for (const [expr, want] of cases) {
    it(`${expr} → ${want === undefined ? 'not found' : JSON.stringify(want)}`, () => {
      const r = compileJsonPath(expr).evaluate(doc);
      if (want === undefined) assert.equal(r.ok, false);
      else assert.deepEqual(r, { ok: true, value: want });
    });
  }

  it('the whole document for {} and {$}', () => {
    assert.deepEqual(compileJsonPath('{$}').evaluate({ a: 1 }), { ok: true, value: '{"a":1}' });
    assert.deepEqual(compileJsonPath('{}').evaluate('x'), { ok: true, value: 'x' });
  });

  const unsupported = [
    'prompt',
    '{.prompt',
    '{..prompt}',
    '{.a[*]}',
    '{.a.*}',
    '{.a[0:1]}',
    '{.a[0,1]}',
    '{.a[?(@.x)]}',
    '{.a}{.b}',
    'x{.a}',
    "{.a['x}",
    '{.a[x]}',
    '{.a b}',
    '{.}',
  ];
  for (const expr of unsupported) {
    it(`refuses ${expr} with a JsonPathError`, () =>
      assert.throws(() => compileJsonPath(expr), JsonPathError));
  }
});

const stepArb: fc.Arbitrary<JsonPathStep> = fc.oneof(
  fc.string({ maxLength: 8 }).map((name) => ({ kind: 'field' as const, name })),
  fc.integer({ min: -5, max: 5 }).map((index) => ({ kind: 'index' as const, index })),
);

describe('compileJsonPath: properties', () => {
  it('format then compile gives back the same steps', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 6 }), (steps) => {
        assert.deepEqual(compileJsonPath(formatJsonPath(steps)).steps, steps);
      }),
      { numRuns: 2000 },
    );
  });

  it('evaluation equals walking the document by hand', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.array(stepArb, { maxLength: 4 }), (value, steps) => {
        let cur: unknown = value;
        for (const s of steps) {
          if (s.kind === 'field') {
            cur =
              cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.hasOwn(cur, s.name)
                ? (cur as Record<string, unknown>)[s.name]
                : undefined;
          } else {
            cur = Array.isArray(cur) ? cur.at(s.index) : undefined;
          }
          if (cur === undefined) break;
        }
        const r = compileJsonPath(formatJsonPath(steps)).evaluate(value);
        if (cur === undefined || cur === null) assert.equal(r.ok, false);
        else assert.deepEqual(r, { ok: true, value: typeof cur === 'string' ? cur : JSON.stringify(cur) });
      }),
      { numRuns: 2000 },
    );
  });

  it('only ever throws JsonPathError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        try {
          compileJsonPath(s).evaluate({});
        } catch (e) {
          assert.ok(e instanceof JsonPathError, String(e));
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('JsonPathCache', () => {
  it('compiles once per source and keeps compile errors', () => {
    const cache = new JsonPathCache(2);
    const a = cache.get('{.a}');
    assert.equal(cache.get('{.a}'), a);
    assert.ok(cache.get('{..a}') instanceof JsonPathError);
  });

  it('stays within its bound', () => {
    const cache = new JsonPathCache(2);
    const a = cache.get('{.a}');
    cache.get('{.b}');
    cache.get('{.c}');
    assert.notEqual(cache.get('{.a}'), a, 'the oldest entry was evicted and recompiled');
  });
});
