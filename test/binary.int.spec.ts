// The single binary (`npm run build:binary` → dist/bin/payrun): built here, then run as the
// operator would, with no node on PATH: the public acceptance cases with the default worker
// count and with 2 workers, and a generated file compared with the npm build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BINARY, seaToolingProblem } from '../scripts/build-binary.js';
import { BIN, MAIN_JS, ROOT } from './support/builtBinary.js';

const BUILD_TIMEOUT_MS = 180_000;
const RUN_TIMEOUT_MS = 60_000;
const ACCEPTANCE_RUN = join(ROOT, '..', 'shared', 'acceptance', 'run');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const problem = seaToolingProblem();
if (problem !== undefined) console.warn(`binary.int.spec: SKIPPED, cannot build a single executable here: ${problem}`);

/** The environment without the npm_* variables `npm test` sets: each npm below runs as if typed in a shell. */
function shellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD'));
  return { ...env, ...extra };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function spawn(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Run {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? shellEnv(),
    input: options.input ?? '',
    timeout: RUN_TIMEOUT_MS,
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The binary, with no node (or anything else) on PATH. */
const binary = (args: string[], options: { cwd?: string; input?: string } = {}): Run =>
  spawn(BINARY, args, { ...options, env: { PATH: '/nonexistent' } });

/** The npm build: `node bin/payrun`. */
const npmBuild = (args: string[], options: { cwd?: string } = {}): Run => spawn(process.execPath, [BIN, ...args], options);

describe.skipIf(problem !== undefined)(`single binary${problem === undefined ? '' : ` (skipped: ${problem})`}`, () => {
  let tmp = '';

  beforeAll(() => {
    if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: build first (npm run build); the binary is compared with it`);
    tmp = mkdtempSync(join(tmpdir(), 'payrun-binary-'));
    const result = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build:binary'], {
      cwd: ROOT,
      env: shellEnv(),
      encoding: 'utf8',
      timeout: BUILD_TIMEOUT_MS,
      shell: process.platform === 'win32',
    });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`npm run build:binary failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
    console.info(result.stderr.trim()); // the build's one-line summary, with the sizes
  }, BUILD_TIMEOUT_MS);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('is one executable file of a plausible size', () => {
    const { size, mode } = statSync(BINARY);
    expect(size).toBeGreaterThan(10 * 1024 * 1024); // it carries the Node runtime
    if (process.platform !== 'win32') expect(mode & 0o111).not.toBe(0);
  });

  it('--version prints the package version, with no SEA warning', () => {
    const r = binary(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
    expect(r.stderr).toBe('');
  });

  it('--help shows both commands with examples', () => {
    const r = binary(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: payrun [options] [command] <file>');
    expect(r.stdout).toMatch(/^ {2}generate \[options\] <out>/m);
    expect(r.stdout).toContain('payrun transactions.csv > accounts.csv');
    expect(r.stdout).toContain('payrun generate -n');
  });

  it('reads standard input and exits 2 on a usage error', () => {
    const sample = readFileSync(join(ROOT, 'fixtures', 'sample.csv'), 'utf8');
    const r = binary(['-q', '-'], { input: sample });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(npmBuild(['-q', join(ROOT, 'fixtures', 'sample.csv')]).stdout);
    expect(binary(['--workers', 'x', 'a.csv']).status).toBe(2);
  });

  it.skipIf(!existsSync(ACCEPTANCE_RUN))('passes the public acceptance cases, default workers and --workers 2', () => {
    for (const payrun of [BINARY, `${BINARY} --workers 2`]) {
      const r = spawn(ACCEPTANCE_RUN, [], { env: shellEnv({ PAYRUN: payrun }) });
      expect(r.stdout, `PAYRUN="${payrun}"`).toMatch(/acceptance: \d+ passed, 0 failed/);
      expect(r.status, `PAYRUN="${payrun}"\n${r.stdout}`).toBe(0);
    }
  });

  it('on a generated file, with 2, 1, 0 and the default number of workers, prints what the npm build prints', () => {
    const gen = ['generate', '-q', '-n', '200000', '-c', '1000', '--seed', '23'];
    expect(npmBuild([...gen, '--expected', 'expected.csv', 'npm.csv'], { cwd: tmp }).status).toBe(0);
    expect(binary([...gen, 'binary.csv'], { cwd: tmp }).status).toBe(0);
    expect(readFileSync(join(tmp, 'binary.csv')).equals(readFileSync(join(tmp, 'npm.csv')))).toBe(true);

    const reference = npmBuild(['-q', '--workers', '2', '--rejects', 'npm-rejects.csv', 'npm.csv'], { cwd: tmp });
    expect(reference.status).toBe(0);
    expect(reference.stdout).toBe(readFileSync(join(tmp, 'expected.csv'), 'utf8'));
    const npmRejects = readFileSync(join(tmp, 'npm-rejects.csv'), 'utf8');
    expect(npmRejects.split('\n').length).toBeGreaterThan(1000);

    for (const workers of [['--workers', '2'], ['--workers', '1'], ['--workers', '0'], []]) {
      const r = binary(['-q', ...workers, '--rejects', 'binary-rejects.csv', 'npm.csv'], { cwd: tmp });
      expect(r.stderr, workers.join(' ')).toBe('');
      expect(r.status, workers.join(' ')).toBe(0);
      expect(r.stdout === reference.stdout, `accounts with ${workers.join(' ') || 'default workers'}`).toBe(true);
      expect(readFileSync(join(tmp, 'binary-rejects.csv'), 'utf8') === npmRejects, `rejects with ${workers.join(' ') || 'default workers'}`).toBe(true);
    }
  });
});
