// Locates files of this package at run time, whether running from dist/ or
// from another outDir: walks up from this module to the package.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name;
      if (name === 'casa-node-agent') {
        cached = dir;
        return dir;
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the casa-node-agent package.json above this module');
    dir = up;
  }
}
