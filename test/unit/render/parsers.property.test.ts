// Property tests for the renderer's parsers of untrusted input: app hosts,
// llm hosts and manifest documents.
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseServiceHost } from '../../../src/agent/render/app-services.js';
import { parseLlmHost, renderCilium } from '../../../src/agent/render/cilium.js';
import { ManifestError, parseManifestText } from '../../../src/agent/render/manifests.js';
import { defaultConfig } from './fixtures.js';

const label = fc.stringMatching(/^[a-z]([-a-z0-9]{0,10}[a-z0-9])?$/);
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });

describe('parseServiceHost', () => {
  it('every cluster DNS spelling of a Service names the same Service and port', () => {
    fc.assert(
      fc.property(label, label, port, fc.boolean(), (svc, ns, p, upper) => {
        const suffix = p === undefined ? '' : `:${p}`;
        for (const spelling of [`${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`]) {
          const host = `${upper ? spelling.toUpperCase() : spelling}${suffix}`;
          assert.deepEqual(parseServiceHost(host, 'other'), { namespace: ns, name: svc, port: p });
        }
        assert.deepEqual(parseServiceHost(`${svc}${suffix}`, ns), { namespace: ns, name: svc, port: p });
      }),
    );
  });
  it('never throws, and what it returns is made of DNS labels', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (host) => {
        const r = parseServiceHost(host, 'ns');
        if (r) {
          assert.match(r.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
          assert.match(r.namespace, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
          if (r.port !== undefined) assert.ok(r.port >= 1 && r.port <= 65535);
        }
      }),
    );
  });
});

describe('parseLlmHost', () => {
  it('reads host[:port] back exactly, lower-cased', () => {
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 4 }), port, (labels, p) => {
        const host = labels.join('.');
        assert.deepEqual(parseLlmHost(`${host.toUpperCase()}${p === undefined ? '' : `:${p}`}`), {
          host,
          port: p,
        });
      }),
    );
  });
  it('whatever the llm_host, the rendered policy holds only valid FQDN/CIDR rules', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (llmHost) => {
        const objs = renderCilium({
          config: defaultConfig(),
          multiAgentSystems: [{ ref: { namespace: 'a', name: 'b' }, llmHost, apps: [] }],
          warn: () => {},
        });
        const text = JSON.stringify(objs);
        // The CRD's pattern for toFQDNs[].matchName.
        for (const m of text.matchAll(/"matchName":"([^"]*)"/g)) {
          assert.match(m[1] ?? '', /^([-a-zA-Z0-9_]+[.]?)+$/, `matchName ${m[1]}`);
        }
        for (const m of text.matchAll(/"toCIDR":\["([^"]*)"\]/g)) {
          const [ip, len] = (m[1] ?? '').split('/');
          assert.ok(isIP(ip ?? '') !== 0 && (len === '32' || len === '128'), `toCIDR ${m[1]}`);
        }
      }),
    );
  });
});

describe('manifest documents', () => {
  it('bad input only ever fails with a ManifestError naming the file', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 8 }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom('name', 'type', 'apps', 'baseUrl', 'host', 'scheme', 'llm_host', 'x'),
          tie('v'),
          {
            maxKeys: 4,
          },
        ),
      ),
    })).v;
    fc.assert(
      fc.property(value, value, (spec, metadata) => {
        const doc = JSON.stringify({
          apiVersion: 'casa.io/v1alpha1',
          kind: 'MultiAgentSystem',
          metadata,
          spec,
        });
        try {
          parseManifestText(doc, 'f.yaml', { multiAgentSystems: [], services: [] });
        } catch (err) {
          assert.ok(err instanceof ManifestError, String(err));
          assert.ok(err.message.startsWith('f.yaml: '));
        }
      }),
    );
  });
});
