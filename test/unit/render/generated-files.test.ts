// One source of truth: the chart's Cilium objects and the example manifests in
// cilium/ are the renderer's output; the chart's config keys are the agent's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/agent/config/load.js';
import { SETTINGS } from '../../../src/agent/config/settings.js';
import { packageRoot } from '../../../src/agent/paths.js';
import {
  CHART_TEMPLATE,
  chartTemplate,
  EXAMPLE_OUTPUT,
  generatedFiles,
  staleFiles,
} from '../../../src/agent/render/chart-objects.js';

const root = packageRoot();

describe('generated copies of the renderer output', () => {
  it('are up to date (run node scripts/render-chart-objects.mjs after changing the renderer)', () => {
    assert.deepEqual(staleFiles(root), []);
  });
  it('cover the chart template and the example manifests', () => {
    assert.deepEqual([...generatedFiles(root).keys()], [CHART_TEMPLATE, EXAMPLE_OUTPUT]);
  });
  it('a changed copy is reported stale', () => {
    const have = readFileSync(join(root, CHART_TEMPLATE), 'utf8');
    assert.notEqual(have.replace('failure_mode_allow: false', 'failure_mode_allow: true'), chartTemplate());
  });
  it('the chart template takes ports, check timeout and body size from the chart values', () => {
    const t = chartTemplate();
    assert.match(t, /target_uri: 127\.0\.0\.1:\{\{ \.Values\.ports\.authz \}\}/);
    assert.match(t, /target_uri: 127\.0\.0\.1:\{\{ \.Values\.ports\.xds \}\}/);
    assert.match(t, /timeout: \{\{ include "casa-node-agent\.checkTimeoutDuration" \. \}\}/);
    assert.match(t, /max_request_bytes: \{\{ \.Values\.config\.maxRequestBytes \}\}/);
    assert.match(t, /failure_mode_allow: false/);
  });
});

describe('chart values and the agent settings agree', () => {
  const schema = JSON.parse(readFileSync(join(root, 'daemonset/values.schema.json'), 'utf8')) as {
    properties: { config: { properties: Record<string, unknown> } };
  };
  const chartKeys = Object.keys(schema.properties.config.properties);
  const settingKeys = new Set([...SETTINGS.map((s) => s.key), 'protocols']);
  const decidedByChart = [
    'config',
    'inventory',
    'dataplane',
    'agentNamespace',
    'authzListen',
    'xdsListen',
    'diagListen',
    'istioInboundListen',
    'istioOutboundListen',
    'nodeName',
    'podName',
    'rfcClientSecret',
  ];
  it('every config key of the schema is an agent setting', () => {
    for (const k of chartKeys) assert.ok(settingKeys.has(k), `${k} is not a setting`);
  });
  it('keys the chart decides (or keeps secret) cannot be set in config', () => {
    for (const k of decidedByChart) assert.ok(!chartKeys.includes(k), k);
  });
  it("the default values' config loads in the agent", () => {
    const values = parse(readFileSync(join(root, 'daemonset/values.yaml'), 'utf8')) as { config: object };
    const cfg = loadConfig({ flags: {}, env: {}, fileText: JSON.stringify(values.config) });
    assert.equal(cfg.checkTimeout, 5000);
    assert.equal(cfg.maxRequestBytes, 60000);
  });
});
