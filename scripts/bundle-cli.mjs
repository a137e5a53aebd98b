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
// ioredis stays a runtime dependency, required only by the cluster commands.
//
// Then V8's code cache: bin/payrun compiles the bundle with vm.Script and this cachedData, made
// here after a one-row run of the bundle (so it holds every function such a run compiles): V8
// then deserializes instead of parsing and compiling, ~25 ms less CPU per run (measured). V8
// checks the cache against its version, flags and the source, and compiles as usual when it
// does not fit (another Node, or a rebuilt bundle), so the cache is only ever an optimization.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
export const BUNDLE = join(dist, 'payrun.cjs');
export const CODE_CACHE = `${BUNDLE}.cache`;

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
    // Whitespace and comments out, names kept: V8 holds the source for the life of the process (twice
    // at the peak: read, then wrapped), so 1.7 MB of it was 3.5 MB of heap; minified, it is 0.9 MB.
    minifyWhitespace: true,
    minifySyntax: true,
    external: ['ioredis'], // cli-progress is bundled: a vm.Script has no dynamic import() of a package
    banner: { js: '// Made by scripts/bundle-cli.mjs from dist/ (npm run build); bin/payrun loads it.\nconst __payrunMainUrl = require("node:url").pathToFileURL(require("node:path").join(__dirname, "cli", "main.js")).href;' },
    plugins: [lazyChildProcessForCommander],
    define: {
      'import.meta.url': '__payrunMainUrl',
      PAYRUN_BUNDLED_WORKER: JSON.stringify(worker.outputFiles[0].text),
    },
  });
  asciiOnly(tmp);
  // V8 checks a cache against the source's length only: the old one goes before the new bundle comes.
  rmSync(CODE_CACHE, { force: true });
  renameSync(tmp, BUNDLE); // never a half-written bundle for bin/payrun to load
}

/**
 * esbuild escapes every non-ASCII character of the code, but keeps comments as they are; one
 * '→' in a comment makes V8 hold the whole 1.6 MB source, twice (read, then wrapped), as two-byte
 * strings for the life of the process: 6.6 MB of heap instead of 3.3 MB. So the comments lose theirs.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace(/[^\x00-\x7f]/g, (c) => ({ '→': '->', '−': '-', '≤': '<=', '≥': '>=', '’': "'", '·': '*' })[c] ?? '?'));
}

/**
 * Loads the bundle exactly as bin/payrun does (the same wrapper: V8 keys the cache on the source),
 * runs it on a one-row file, then saves the code of every function compiled so far.
 */
const CACHE_MAKER = `
const { readFileSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const vm = require('node:vm');
const [bundle, cacheFile, csv] = process.argv.slice(1);
const wrapped = '(function (exports, require, module, __filename, __dirname) { ' + readFileSync(bundle, 'utf8') + '\\n})';
const script = new vm.Script(wrapped, { filename: bundle });
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
module.exports.main([csv], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then((code) => {
  if (code !== 0) throw new Error('the one-row run exited ' + code);
  writeFileSync(cacheFile, script.createCachedData());
});
`;

function makeCodeCache() {
  const work = mkdtempSync(join(tmpdir(), 'payrun-code-cache-'));
  try {
    const csv = join(work, 'one.csv');
    writeFileSync(csv, 'type,client,tx,amount\ndeposit,1,1,1.0\n');
    const made = spawnSync(process.execPath, ['-e', CACHE_MAKER, BUNDLE, `${CODE_CACHE}.tmp`, csv], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`making the code cache failed: ${made.stderr.trim()}`);
    renameSync(`${CODE_CACHE}.tmp`, CODE_CACHE);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (!existsSync(join(dist, 'cli', 'main.js'))) {
  process.stderr.write('bundle-cli: dist/cli/main.js is missing: run tsc first (npm run build does)\n');
  process.exitCode = 1;
} else {
  await bundle();
  makeCodeCache();
}
