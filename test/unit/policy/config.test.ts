// PolicyConfig: defaults and errors that name the field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicyConfig } from '../../../src/policy/config.js';
import { DEFAULT_GATE_TABLE } from '../../../src/policy/gate.js';
import { DEFAULT_PROTOCOL_PATTERNS, PolicyConfigError } from '../../../src/policy/patterns.js';

describe('createPolicyConfig', () => {
  it('has documented defaults', () => {
    const c = createPolicyConfig();
    assert.equal(c.patterns, DEFAULT_PROTOCOL_PATTERNS);
    assert.equal(c.gate, DEFAULT_GATE_TABLE);
    assert.equal(c.requireTraceContext, true);
    assert.equal(c.publicAgentCard, true);
    assert.equal(c.entryPointApi, true);
    assert.equal(c.unmanagedDestination, 'deny');
    assert.equal(c.toolScope, 'call-tools');
    assert.deepEqual(c.internalHeaderPrefixes, ['x-casa-']);
  });

  it('reads protocols (patterns and appTypes) from one config key', () => {
    const c = createPolicyConfig({
      protocols: { mcp: { endpoints: ['/rpc'] }, appTypes: { client: { outbound: ['a2a'] } } },
      internalHeaderPrefixes: ['X-Internal-'],
    });
    assert.ok(c.patterns.mcp.endpoints.has('/rpc'));
    assert.deepEqual(c.gate.outbound.client, ['a2a']);
    assert.deepEqual(c.internalHeaderPrefixes, ['x-internal-']);
  });

  const errors: [Parameters<typeof createPolicyConfig>[0], string][] = [
    [{ protocols: { mcp: { endpoints: [1] } } }, 'protocols.mcp.endpoints[0]'],
    [{ protocols: { appTypes: { agent: { outbound: ['ftp'] } } } }, 'protocols.appTypes.agent.outbound[0]'],
    [{ unmanagedDestination: 'allow' as 'deny' }, 'unmanagedDestination'],
    [{ toolScope: 'call tools' }, 'toolScope'],
    [{ internalHeaderPrefixes: [''] }, 'internalHeaderPrefixes[0]'],
  ];
  for (const [settings, field] of errors) {
    it(`names ${field}`, () =>
      assert.throws(
        () => createPolicyConfig(settings),
        (e: unknown) => e instanceof PolicyConfigError && e.field === field,
      ));
  }
});
