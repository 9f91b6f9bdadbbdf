// `npm run bench`: runs every benchmark of this folder (each `*-bench.js`
// next to this file), one after the other, each in its own Node process so
// that one's heap, GC flags and sockets cannot skew the next; their tables go
// straight to stdout (with --expose-gc, for the memory figures). Exit status is non-zero when any benchmark failed.
//
// Run: node <dist>/bench/run.js [name ...]   (e.g. `check xds`: only those)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The benchmarks present, by name (`check` for check-bench.js), in a stable order. */
export function benchmarks(dir: string = here): { name: string; file: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('-bench.js'))
    .sort()
    .map((f) => ({ name: f.slice(0, -'-bench.js'.length), file: join(dir, f) }));
}

export function runAll(names: readonly string[]): number {
  const all = benchmarks();
  const unknown = names.filter((n) => !all.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark(s): ${unknown.join(', ')}; present: ${all.map((b) => b.name).join(', ')}`,
    );
    return 2;
  }
  const chosen = names.length === 0 ? all : all.filter((b) => names.includes(b.name));
  const failed: string[] = [];
  for (const b of chosen) {
    console.log(`\n=== ${b.name} (${b.file}) ===`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--enable-source-maps', '--expose-gc', b.file], {
      stdio: 'inherit',
    });
    const took = ((Date.now() - t0) / 1000).toFixed(1);
    if (r.status !== 0) {
      failed.push(b.name);
      console.log(`=== ${b.name} FAILED (exit ${r.status ?? r.signal}) after ${took} s ===`);
    } else console.log(`=== ${b.name} done in ${took} s ===`);
  }
  if (failed.length > 0) console.error(`\nfailed: ${failed.join(', ')}`);
  return failed.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runAll(process.argv.slice(2));
}
