// Introspection claims against what the request needs, at time `now`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify } from '../../../src/policy/classify.js';
import { DEFAULT_PROTOCOL_PATTERNS } from '../../../src/policy/patterns.js';
import { CALL_TOOLS_SCOPE, checkClaims, requirementFor } from '../../../src/policy/scope.js';
import type { TokenClaims } from '../../../src/policy/types.js';
import { req, rpc } from './fixtures.js';

const NOW = 1_700_000_000_000;
const EXP = NOW / 1000 + 60;
const c = (body: object) => classify(req('POST', '/mcp', { body }), {}, DEFAULT_PROTOCOL_PATTERNS);

describe('requirementFor', () => {
  it('tools/call to an mcp_server needs call-tools and every tool', () => {
    assert.deepEqual(
      requirementFor('mcp_server', c([rpc('tools/call', { name: 'a' }), rpc('tools/call', { name: 'b' })])),
      {
        tools: ['a', 'b'],
        scope: CALL_TOOLS_SCOPE,
      },
    );
  });
  it('other MCP methods to an mcp_server need only an active token', () => {
    assert.deepEqual(requirementFor('mcp_server', c(rpc('tools/list'))), {});
    assert.deepEqual(requirementFor('mcp_server', c(rpc('resources/read', { uri: 'x' }))), {});
  });
  it('tools/call to an agent needs only an active token', () => {
    assert.deepEqual(requirementFor('agent', c(rpc('tools/call', { name: 'a' }))), {});
  });
  it('uses the configured scope', () => {
    assert.equal(
      requirementFor('mcp_server', c(rpc('tools/call', { name: 'a' })), 'tools:call').scope,
      'tools:call',
    );
  });
});

describe('checkClaims', () => {
  const t3: TokenClaims = { active: true, exp: EXP, scope: ['openid', 'call-tools'], tools: ['a', 'b'] };
  const rows: [string, Parameters<typeof checkClaims>[0], TokenClaims, string | undefined][] = [
    ['an active token with no requirement', {}, { active: true }, undefined],
    ['an active token without exp (RFC 7662 allows it)', {}, { active: true, scope: [] }, undefined],
    ['inactive', {}, { active: false }, 'inactive_token'],
    [
      'inactive even with every claim',
      { tools: ['a'], scope: 'call-tools' },
      { ...t3, active: false },
      'inactive_token',
    ],
    ['exp in the past', {}, { active: true, exp: NOW / 1000 - 1 }, 'expired_token'],
    ['exp exactly now', {}, { active: true, exp: NOW / 1000 }, 'expired_token'],
    ['exp one second ahead', {}, { active: true, exp: NOW / 1000 + 1 }, undefined],
    ['tools/call with scope and tool', { tools: ['a'], scope: 'call-tools' }, t3, undefined],
    ['tools/call of two granted tools', { tools: ['a', 'b'], scope: 'call-tools' }, t3, undefined],
    [
      'no call-tools scope',
      { tools: ['a'], scope: 'call-tools' },
      { ...t3, scope: ['openid'] },
      'insufficient_scope',
    ],
    [
      'no scope claim at all',
      { tools: ['a'], scope: 'call-tools' },
      { active: true, tools: ['a'] },
      'insufficient_scope',
    ],
    ['a tool not granted', { tools: ['c'], scope: 'call-tools' }, t3, 'tool_not_permitted'],
    ['one of two tools not granted', { tools: ['a', 'c'], scope: 'call-tools' }, t3, 'tool_not_permitted'],
    [
      'no tools claim',
      { tools: ['a'], scope: 'call-tools' },
      { ...t3, tools: undefined },
      'tool_not_permitted',
    ],
    ['tool names are exact (case)', { tools: ['A'], scope: 'call-tools' }, t3, 'tool_not_permitted'],
  ];
  for (const [name, requirement, claims, want] of rows) {
    it(`${name} → ${want ?? 'allowed'}`, () =>
      assert.equal(checkClaims(requirement, claims, NOW)?.reason, want));
  }
});
