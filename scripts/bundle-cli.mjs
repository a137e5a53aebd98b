// `npm run build` (postbuild, after tsc): the compiled CLI as one CommonJS file, dist/payrun.cjs,
// which bin/payrun loads instead of dist/cli/main.js. Measured on a one-row file: Node resolving,
// reading and linking ~55 ES modules (and starting its ES module loader at all) was most of
// payrun's start-up beyond Node's own; one CommonJS file is read and compiled once, and V8
// compiles only the functions that run. Commands still load lazily: esbuild turns each
// `await import('./commands/x.js')` into code that runs only when awaited.
//
// The bundle is made from dist/ (tsc's output), so it is exactly the compiled modules. The engine
// worker is bundled into it as a string and started with `eval` (as in the single binary,
// scripts/build-binary.ts), since a bundle has no worker file beside it. import.meta.url becomes
// dist/cli/main.js's URL, so the package.json beside the project is found as from the module.
// ioredis and cli-progress stay runtime dependencies, required only when a command needs them.
import { build } from 'esbuild';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
export const BUNDLE = join(dist, 'payrun.cjs');

const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning', legalComments: 'none' };

/**
 * commander requires node:child_process when it loads (~6 ms), for sub-commands that are separate
 * executables, which payrun has none of: it gets an object that loads the module on first use.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      args.importer.includes(`${join('node_modules', 'commander')}`) ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: 'let m; module.exports = new Proxy({}, { get: (_, key) => (m ??= require("node:child_process"))[key] });',
      loader: 'js',
    }));
  },
};

async function bundle() {
  const worker = await build({ ...common, minify: true, entryPoints: [join(dist, 'workers', 'engineWorker.js')], write: false });
  const tmp = `${BUNDLE}.tmp`;
  await build({
    ...common,
    entryPoints: [join(dist, 'cli', 'main.js')],
    outfile: tmp,
    external: ['ioredis', 'cli-progress'],
    banner: { js: '// Made by scripts/bundle-cli.mjs from dist/ (npm run build); bin/payrun loads it.\nconst __payrunMainUrl = require("node:url").pathToFileURL(require("node:path").join(__dirname, "cli", "main.js")).href;' },
    plugins: [lazyChildProcessForCommander],
    define: {
      'import.meta.url': '__payrunMainUrl',
      PAYRUN_BUNDLED_WORKER: JSON.stringify(worker.outputFiles[0].text),
    },
  });
  renameSync(tmp, BUNDLE); // never a half-written bundle for bin/payrun to load
}

if (!existsSync(join(dist, 'cli', 'main.js'))) {
  process.stderr.write('bundle-cli: dist/cli/main.js is missing: run tsc first (npm run build does)\n');
  process.exitCode = 1;
} else {
  await bundle();
}
