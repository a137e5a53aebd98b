// `npm run build` (postbuild): remove compiled files in dist/ whose source in src/ is gone, so
// that `npm pack` never ships a stale module. tsc only ever adds and overwrites; pruning after it
// (not cleaning before) never leaves dist/ half empty for a test running meanwhile. dist/bin/
// (the single binary, `npm run build:binary`) and dist/payrun.cjs and its .cache (the bundle, scripts/bundle-cli.mjs)
// are not tsc's and are kept.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const src = join(root, 'src');

function prune(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const rel = relative(dist, path);
    if (entry.isDirectory()) {
      if (rel === 'bin') continue;
      prune(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else if (!rel.startsWith('payrun.cjs') && !existsSync(join(src, rel.replace(/\.js$/, '.ts')))) {
      rmSync(path);
      process.stderr.write(`prune-dist: removed stale dist/${rel}\n`);
    }
  }
}

if (existsSync(dist)) prune(dist);
