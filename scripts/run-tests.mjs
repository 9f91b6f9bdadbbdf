#!/usr/bin/env node
// Runs the compiled node:test suites under dist/test/<suite>/ (unit, integration, e2e).
// Node 20's `--test` takes no globs, so the files are collected here and handed over
// explicitly; the exit code is node:test's.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const suites = process.argv.slice(2);
if (suites.length === 0) {
  console.error('usage: run-tests.mjs SUITE... (unit, integration, e2e)');
  process.exit(2);
}

function collect(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

// CASA_DIST lets parallel work compile to its own folder (default: dist).
const dist = process.env.CASA_DIST ? join(root, process.env.CASA_DIST) : join(root, 'dist');
const filter = process.env.CASA_TEST_FILTER;
const files = suites
  .flatMap((s) => collect(join(dist, 'test', s)))
  .filter((f) => !filter || f.includes(filter));
if (files.length === 0) {
  console.error(`no test files found for: ${suites.join(', ')} (did the build run?)`);
  process.exit(1);
}
console.error(`running ${files.length} test files: ${suites.join(', ')}`);
const concurrency = process.env.CASA_TEST_CONCURRENCY ?? (suites.includes('e2e') ? '1' : '2');
const reporter = process.env.CI ? ['--test-reporter=spec'] : [];
const res = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    `--test-concurrency=${concurrency}`,
    ...reporter,
    ...files.map((f) => relative(root, f)),
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(res.status ?? 1);
