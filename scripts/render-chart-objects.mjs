#!/usr/bin/env node
// Regenerates the copies of the renderer's output kept in the repository
// (daemonset/templates/cilium-objects.yaml, cilium/casa-node-agent.yaml) from
// the compiled renderer, so the chart and `casa-agent render` share one source.
//
//   node scripts/render-chart-objects.mjs          write the files
//   node scripts/render-chart-objects.mjs --check  exit 1 if a file is stale
//
// Needs a build: `npm run build` (or CASA_DIST=<outDir> for another outDir).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, process.env.CASA_DIST ?? 'dist');
const mod = await import(pathToFileURL(join(dist, 'src/agent/render/chart-objects.js')).href);

if (process.argv.includes('--check')) {
  const stale = mod.staleFiles(root);
  if (stale.length > 0) {
    console.error(`stale generated files (run node scripts/render-chart-objects.mjs): ${stale.join(', ')}`);
    process.exit(1);
  }
  console.error('generated files are up to date');
} else {
  for (const [path, content] of mod.generatedFiles(root)) {
    writeFileSync(join(root, path), content);
    console.error(`wrote ${path}`);
  }
}
