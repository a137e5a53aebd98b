/**
 * `npm run build:binary`: payrun as one executable file for this machine's platform, at
 * dist/bin/payrun (dist/bin/payrun.exe on Windows), that runs without Node or npm installed.
 * It is a Node single executable application (SEA, Node 20):
 *
 * 1. esbuild bundles the engine worker (src/workers/engineWorker.ts) into one script, then the
 *    CLI (bin/payrun over src/) into one CommonJS script, with the worker's code and the package
 *    version as build-time constants (a bundle has no worker file and no package.json beside it;
 *    src/workers/engineThread.ts starts the worker from that code with `eval: true`);
 * 2. `node --experimental-sea-config` turns the script into a blob (with a V8 code cache);
 * 3. a copy of this Node binary is stripped of its symbols (Linux), and postject injects the
 *    blob into it; the result is checked (`--version`) and moved into place.
 *
 * Exit 0 built; 1 the build failed; 3 this machine lacks the SEA tooling (the message says what
 * is missing). `--check` only reports whether the tooling is there.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BINARY = join(ROOT, 'dist', 'bin', process.platform === 'win32' ? 'payrun.exe' : 'payrun');
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const EXIT_NO_TOOLING = 3;
const require = createRequire(import.meta.url);
const log = (line: string): void => void process.stderr.write(`build-binary: ${line}\n`);
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Why this machine cannot build the single binary, or undefined if it can. */
export function seaToolingProblem(): string | undefined {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) return `Node ${process.versions.node} has no single executable applications (needs Node 20 or later)`;
  if (!['linux', 'darwin', 'win32'].includes(process.platform)) return `no SEA support on ${process.platform}`;
  for (const tool of ['esbuild', 'postject']) {
    try {
      require.resolve(`${tool}/package.json`);
    } catch {
      return `${tool} is not installed (npm ci installs it as a devDependency)`;
    }
  }
  // A Node built against a shared libnode (some Linux distributions) carries the fuse in the
  // library, not in the executable: there is nothing to inject into.
  const node = readFileSync(process.execPath);
  const fuse = Buffer.from(`${SENTINEL_FUSE}:`, 'latin1');
  const first = node.indexOf(fuse);
  if (first === -1 || node.lastIndexOf(fuse) !== first) return `${process.execPath} (Node ${process.versions.node}) is not a single-executable-capable Node build (no SEA fuse)`;
  return undefined;
}

function run(command: string, args: string[], what: string): string {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}): ${(result.stderr || result.stdout).trim()}`);
  return result.stdout;
}

function hasCommand(command: string): boolean {
  return !spawnSync(command, ['--version'], { stdio: 'ignore' }).error;
}

/** The worker, then the CLI with the worker inside it, as one CommonJS script for the SEA. */
async function bundle(outFile: string, version: string): Promise<void> {
  const esbuild = await import('esbuild');
  const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'warning' } as const;
  const worker = await esbuild.build({ ...common, entryPoints: [join(ROOT, 'src', 'workers', 'engineWorker.ts')], write: false });
  const workerCode = worker.outputFiles[0]!.text;
  // The entry is the installed command itself (bin/payrun), with its compiled main taken from src/.
  const shim = join(ROOT, 'bin', 'payrun');
  await esbuild.build({
    ...common,
    stdin: { contents: readFileSync(shim, 'utf8'), resolveDir: dirname(shim), sourcefile: 'bin/payrun', loader: 'js' },
    outfile: outFile,
    define: {
      PAYRUN_VERSION: JSON.stringify(version),
      PAYRUN_BUNDLED_WORKER: JSON.stringify(workerCode),
      // Unused in the bundle (both uses come after the checks above), but keep esbuild from
      // warning that a CommonJS bundle has an empty import.meta.
      'import.meta.url': 'undefined',
    },
    plugins: [
      {
        name: 'payrun-main-from-src',
        setup(build) {
          build.onResolve({ filter: /^\.\.\/dist\/cli\/main\.js$/ }, () => ({ path: join(ROOT, 'src', 'cli', 'main.ts') }));
          // ioredis' `debug` tries require('supports-color') (not installed) inside a try; a SEA's
          // require() warns on any non-built-in module, so that optional module is bundled as empty.
          build.onResolve({ filter: /^supports-color$/ }, () => ({ path: 'supports-color', namespace: 'payrun-empty' }));
          build.onLoad({ filter: /.*/, namespace: 'payrun-empty' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
        },
      },
    ],
  });
}

async function build(): Promise<void> {
  const started = Date.now();
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const work = mkdtempSync(join(tmpdir(), 'payrun-sea-'));
  try {
    const script = join(work, 'payrun.cjs');
    await bundle(script, version);

    const blob = join(work, 'sea-prep.blob');
    const config = { main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true };
    writeFileSync(join(work, 'sea-config.json'), JSON.stringify(config, null, 2));
    run(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], 'node --experimental-sea-config');

    const exe = join(work, 'payrun-exe');
    copyFileSync(process.execPath, exe);
    chmodSync(exe, 0o755);
    const nodeSize = statSync(exe).size;
    if (process.platform === 'linux' && hasCommand('strip')) {
      run('strip', ['--strip-all', exe], 'strip');
      run(exe, ['--version'], 'the stripped node binary'); // still a working Node
    } else if (process.platform === 'linux') {
      log('strip not found: the binary keeps its symbols');
    }
    const strippedSize = statSync(exe).size;
    if (process.platform === 'darwin') run('codesign', ['--remove-signature', exe], 'codesign --remove-signature');

    const postject = join(dirname(require.resolve('postject/package.json')), 'dist', 'cli.js');
    const macho = process.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [];
    run(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SENTINEL_FUSE, ...macho], 'postject');
    if (process.platform === 'darwin') run('codesign', ['--sign', '-', exe], 'codesign --sign');

    const reported = run(exe, ['--version'], 'the built binary').trim();
    if (reported !== version) throw new Error(`the built binary says version ${JSON.stringify(reported)}, expected ${version}`);

    mkdirSync(dirname(BINARY), { recursive: true });
    renameSync(exe, BINARY);
    const stripped = strippedSize < nodeSize ? `, ${mib(strippedSize)} stripped` : '';
    log(
      `${relative(ROOT, BINARY)} for ${process.platform}-${process.arch} (Node ${process.versions.node}): ${mib(statSync(BINARY).size)} ` +
        `(node binary ${mib(nodeSize)}${stripped}, app blob ${mib(statSync(blob).size)}), in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function cli(args: string[]): Promise<number> {
  const problem = seaToolingProblem();
  if (problem !== undefined) {
    log(`cannot build the single binary on this machine: ${problem}`);
    return EXIT_NO_TOOLING;
  }
  if (args.includes('--check')) return 0;
  try {
    await build();
    return 0;
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await cli(process.argv.slice(2));
}
