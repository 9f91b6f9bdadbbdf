// Host comparison for LLM egress: port stripped, case-insensitive.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasBody, hostKey } from '../../../src/policy/request.js';
import { req } from './fixtures.js';

describe('hostKey', () => {
  const rows: [string, string][] = [
    ['llm.example.com', 'llm.example.com'],
    ['LLM.Example.COM:443', 'llm.example.com'],
    ['llm.example.com.', 'llm.example.com'],
    [' llm.example.com:80 ', 'llm.example.com'],
    ['10.0.0.7:8080', '10.0.0.7'],
    ['[::1]:8080', '::1'],
    ['[FE80::1]', 'fe80::1'],
    ['fe80::1', 'fe80::1'],
  ];
  for (const [host, want] of rows)
    it(`${JSON.stringify(host)} → ${want}`, () => assert.equal(hostKey(host), want));
});

describe('hasBody', () => {
  it('is false for an absent or empty body', () => {
    assert.equal(hasBody(req('POST', '/')), false);
    assert.equal(hasBody(req('POST', '/', { body: '' })), false);
    assert.equal(hasBody(req('POST', '/', { body: '{}' })), true);
  });
});
