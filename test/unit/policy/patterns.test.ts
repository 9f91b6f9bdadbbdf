// Protocol patterns: verified defaults and the `protocols` config key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify } from '../../../src/policy/classify.js';
import {
  DEFAULT_A2A_METHODS,
  DEFAULT_MCP_METHODS,
  DEFAULT_PROTOCOL_PATTERNS,
  PolicyConfigError,
  parseProtocolPatterns,
} from '../../../src/policy/patterns.js';
import { req, rpc } from './fixtures.js';

describe('default patterns', () => {
  it('know every MCP client→server method of the 2024-11-05 … 2026-07-28 schemas', () => {
    const m = DEFAULT_PROTOCOL_PATTERNS.mcp.methods;
    for (const name of [
      'initialize',
      'ping',
      'tools/list',
      'tools/call',
      'resources/list',
      'resources/read',
      'resources/templates/list',
      'resources/subscribe',
      'resources/unsubscribe',
      'prompts/list',
      'prompts/get',
      'completion/complete',
      'logging/setLevel',
      'notifications/initialized',
      'notifications/cancelled',
      'notifications/progress',
      'notifications/roots/list_changed',
      'server/discover',
      'subscriptions/listen',
    ]) {
      assert.ok(m.has(name), name);
    }
    assert.ok(!m.has('notifications/'), 'a family wildcard needs a name after the prefix');
    assert.ok(!m.has('sampling/createMessage'), 'a server→client request is not a client POST');
    assert.ok(DEFAULT_MCP_METHODS.includes('notifications/*'));
  });

  it('know A2A method names of every generation', () => {
    const m = DEFAULT_PROTOCOL_PATTERNS.a2a.methods;
    for (const name of [
      'tasks/send',
      'tasks/sendSubscribe',
      'message/send',
      'message/stream',
      'SendMessage',
      'GetTask',
      'ListTasks',
    ]) {
      assert.ok(m.has(name), name);
    }
    assert.ok(!m.has('sendmessage'), 'JSON-RPC method names are case-sensitive');
    assert.equal(new Set(DEFAULT_A2A_METHODS).size, DEFAULT_A2A_METHODS.length, 'no duplicates');
  });
});

describe('parseProtocolPatterns', () => {
  it('returns the defaults for an absent key', () => {
    assert.equal(parseProtocolPatterns(undefined), DEFAULT_PROTOCOL_PATTERNS);
    assert.equal(parseProtocolPatterns(null), DEFAULT_PROTOCOL_PATTERNS);
  });

  it('replaces a list and adds extra methods and routes', () => {
    const p = parseProtocolPatterns({
      mcp: { endpoints: ['/api/mcp/', '/MCP2'], extraMethods: ['io.example/custom', 'x-vendor/*'] },
      a2a: {
        jsonRpcPaths: ['/agent'],
        restBasePaths: ['', '/a2a'],
        extraRestRoutes: [{ methods: ['post'], path: '/v1/custom:run', op: 'Custom', version: '0.3' }],
      },
      appTypes: { agent: { outbound: ['mcp'] } },
    });
    assert.deepEqual([...p.mcp.endpoints], ['/api/mcp', '/mcp2']);
    assert.ok(
      p.mcp.methods.has('io.example/custom') &&
        p.mcp.methods.has('x-vendor/a') &&
        p.mcp.methods.has('tools/call'),
    );
    assert.equal(classify(req('POST', '/api/mcp', { body: rpc('ping') }), {}, p).protocol, 'mcp');
    assert.equal(classify(req('POST', '/mcp', { body: rpc('ping') }), {}, p).protocol, 'other');
    assert.equal(classify(req('POST', '/agent', { body: rpc('message/send', {}) }), {}, p).protocol, 'a2a');
    assert.equal(classify(req('POST', '/', { body: rpc('message/send', {}) }), {}, p).protocol, 'other');
    assert.equal(classify(req('POST', '/a2a/v1/message:send'), {}, p).a2a?.method, 'message/send');
    assert.equal(classify(req('POST', '/a2a/v1/custom:run'), {}, p).a2a?.method, 'Custom');
  });

  const errors: [unknown, string][] = [
    ['yes', 'protocols'],
    [{ mcp: [] }, 'protocols.mcp'],
    [{ mcpp: {} }, 'protocols.mcpp'],
    [{ mcp: { endpoint: ['/x'] } }, 'protocols.mcp.endpoint'],
    [{ mcp: { endpoints: '/mcp' } }, 'protocols.mcp.endpoints'],
    [{ mcp: { endpoints: ['/ok', 5] } }, 'protocols.mcp.endpoints[1]'],
    [{ mcp: { endpoints: ['mcp'] } }, 'protocols.mcp.endpoints[0]'],
    [{ mcp: { sseEndpoints: ['/a%zz'] } }, 'protocols.mcp.sseEndpoints[0]'],
    [{ mcp: { extraMethods: ['*'] } }, 'protocols.mcp.methods[20]'],
    [{ mcp: { methods: ['tools/*/call'] } }, 'protocols.mcp.methods[0]'],
    [{ a2a: { restBasePaths: ['x'] } }, 'protocols.a2a.restBasePaths[0]'],
    [{ a2a: { extraRestRoutes: {} } }, 'protocols.a2a.extraRestRoutes'],
    [{ a2a: { extraRestRoutes: [{ path: '/x', op: 'X' }] } }, 'protocols.a2a.extraRestRoutes[0].methods'],
    [
      { a2a: { extraRestRoutes: [{ methods: ['FETCH'], path: '/x', op: 'X' }] } },
      'protocols.a2a.extraRestRoutes[0].methods[0]',
    ],
    [{ a2a: { extraRestRoutes: [{ methods: ['GET'], op: 'X' }] } }, 'protocols.a2a.extraRestRoutes[0].path'],
    [
      { a2a: { extraRestRoutes: [{ methods: ['GET'], path: '/x', op: '' }] } },
      'protocols.a2a.extraRestRoutes[0].op',
    ],
    [
      { a2a: { extraRestRoutes: [{ methods: ['GET'], path: '/x', op: 'X', version: '2' }] } },
      'protocols.a2a.extraRestRoutes[0].version',
    ],
    [
      { a2a: { extraRestRoutes: [{ methods: ['GET'], path: '/x/{}', op: 'X' }] } },
      'protocols.a2a.extraRestRoutes[0].path',
    ],
    [
      { a2a: { extraRestRoutes: [{ methods: ['GET'], path: '/x', op: 'X', extra: 1 }] } },
      'protocols.a2a.extraRestRoutes[0].extra',
    ],
  ];
  for (const [raw, field] of errors) {
    it(`names ${field} in the error for ${JSON.stringify(raw)}`, () => {
      assert.throws(
        () => parseProtocolPatterns(raw),
        (e: unknown) =>
          e instanceof PolicyConfigError && e.field === field && e.message.startsWith(`${field}: `),
      );
    });
  }
});
