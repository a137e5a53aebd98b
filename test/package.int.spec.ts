// The npm package as a user gets it: `npm pack` of the built project, installed from the tarball
// into an empty project (offline, from the npm cache, when it can), then run through `npx payrun`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, useBuiltBinary } from './support/builtBinary.js';

const NPM_TIMEOUT_MS = 120_000;
const RUN_TIMEOUT_MS = 30_000;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const SAMPLE_ACCOUNTS = [
  'client,available,held,total,locked',
  '1,95.0000,0.0000,95.0000,false',
  '2,200.0000,0.0000,200.0000,false',
  '3,0.0000,0.0000,0.0000,true',
  '',
].join('\n');
const SAMPLE_REJECTS = 'line,reason,row\n8,INSUFFICIENT_FUNDS,"withdrawal,2,6,10.00"\n';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * npm (or npx) as if typed in a shell: without the npm_* variables `npm test` sets (among them
 * npm_config_local_prefix, this project), and never fetching a missing command (npx --no).
 */
function npm(command: 'npm' | 'npx', args: string[], cwd: string, timeout = NPM_TIMEOUT_MS): Run {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD'));
  const result = spawnSync(process.platform === 'win32' ? `${command}.cmd` : command, args, {
    cwd,
    env: { ...env, npm_config_yes: 'false', npm_config_update_notifier: 'false' },
    encoding: 'utf8',
    timeout,
    maxBuffer: 64 * 1024 * 1024,
    shell: process.platform === 'win32',
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const tempDir = useBuiltBinary('payrun-package-');
let packed: string[] = [];
let app = '';

beforeAll(() => {
  const packDir = join(tempDir(), 'pack');
  app = join(tempDir(), 'app');
  mkdirSync(packDir);
  mkdirSync(app);

  const pack = npm('npm', ['pack', '--json', '--pack-destination', packDir], ROOT);
  if (pack.status !== 0) throw new Error(`npm pack failed (exit ${pack.status}):\n${pack.stderr}`);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  packed = info!.files.map((file) => file.path).sort();
  const tarball = join(packDir, info!.filename);

  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'payrun-user', private: true }));
  const install = (mode: string): Run => npm('npm', ['install', '--no-audit', '--no-fund', mode, tarball], app);
  let installed = install('--offline');
  // A cold npm cache (the dependencies were never downloaded on this machine): fetch what is missing.
  if (installed.status !== 0) {
    console.info('package.int.spec: the offline install failed (a cold npm cache?); retrying with --prefer-offline');
    installed = install('--prefer-offline');
  }
  if (installed.status !== 0) throw new Error(`npm install of the packed tarball failed (exit ${installed.status}):\n${installed.stderr}`);
  if (!existsSync(join(app, 'node_modules', '.bin', process.platform === 'win32' ? 'payrun.cmd' : 'payrun'))) {
    throw new Error('the installed package has no payrun command in node_modules/.bin');
  }
}, 2 * NPM_TIMEOUT_MS);

const payrun = (args: string[]): Run => npm('npx', ['payrun', ...args], app, RUN_TIMEOUT_MS);

describe('npm pack', () => {
  it('ships only dist/, bin/, README.md, LICENSE and package.json', () => {
    // dist/payrun.cjs: the one-file bundle bin/payrun loads, and .cache its V8 code cache; bin/package.json makes bin/payrun CommonJS.
    const stray = packed.filter((path) => !/^(dist\/.+\.js|dist\/payrun\.cjs(\.cache)?|bin\/payrun|bin\/package\.json|README\.md|LICENSE|package\.json)$/.test(path));
    expect(stray).toEqual([]);
    expect(packed.filter((path) => path.startsWith('dist/bin/'))).toEqual([]); // never the single binary
    for (const needed of ['bin/payrun', 'bin/package.json', 'dist/payrun.cjs', 'dist/payrun.cjs.cache', 'dist/cli/main.js', 'dist/workers/engineWorker.js', 'README.md', 'LICENSE', 'package.json']) {
      expect(packed).toContain(needed);
    }
  });

  it('ships no stale compiled module: every dist/ file has its source in src/', () => {
    const stale = packed.filter((path) => path.startsWith('dist/') && !path.startsWith('dist/payrun.cjs') && !existsSync(join(ROOT, 'src', path.slice('dist/'.length).replace(/\.js$/, '.ts'))));
    expect(stale).toEqual([]);
  });
});

describe('installed from the tarball', () => {
  it('`npx payrun --version` prints the package version', () => {
    const r = payrun(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
  });

  it('`npx payrun --help` shows both commands with examples', () => {
    const r = payrun(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}generate \[options\] <out>/m);
    expect(r.stdout).toContain('payrun transactions.csv > accounts.csv');
    expect(r.stdout).toContain('payrun generate -n');
  });

  it('runs fixtures/sample.csv in the main thread, with the default workers and with 2', () => {
    for (const workers of [['--workers', '0'], [], ['--workers', '2']]) {
      const rejects = join(tempDir(), `rejects-${workers[1] ?? 'default'}.csv`);
      const r = payrun(['-q', ...workers, '--rejects', rejects, join(ROOT, 'fixtures', 'sample.csv')]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(SAMPLE_ACCOUNTS);
      expect(readFileSync(rejects, 'utf8')).toBe(SAMPLE_REJECTS);
    }
  });
});
