import { InvalidArgumentError } from 'commander';
import { fstatSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { UsageError } from './cliIo.js';
import { fileIdentity, landsInDirectory } from '../io/fileIdentity.js';

export const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

/** The version, defined (esbuild `define`) only in the single-binary bundle, which has no package.json. */
declare const PAYRUN_VERSION: string | undefined;

export function packageVersion(): string {
  if (typeof PAYRUN_VERSION === 'string') return PAYRUN_VERSION;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Below this many bytes of input a worker thread cannot pay for its start (~40–60 ms of thread
 * start-up and a second JIT warm-up). Measured on 2 cores, 2026-12-07 (`payrun generate -c 5000
 * --seed 42`, medians of 20 interleaved runs, `--workers 0` against `--workers 1`): 400k rows
 * (13.8 MB) 0.229 s against 0.234 s; 550k (19.0 MB) 0.271 against 0.267; 700k (24.1 MB) 0.300
 * against 0.275 (12 runs); 1M (34.5 MB) 0.369 against 0.330. (It was 32 MiB until the worker
 * stopped parsing and the tables were touched in order, and 4 MiB before the main thread alone
 * got faster.)
 */
export const SMALL_INPUT_BYTES = 16 * 1024 * 1024;

/**
 * The default worker count: the fastest measured (README, Benchmarks): none for a file smaller
 * than SMALL_INPUT_BYTES; else one worker, so the main thread parses while the worker decides (a
 * two-stage pipeline); none on a single core. More workers spread every step over them, which lost
 * on our 2-core machines and is not measured on bigger ones, so it stays a choice (`--workers N`).
 * inputBytes: the input file's size (undefined for a pipe: its size is not known).
 */
export function defaultWorkers(cores = availableParallelism(), inputBytes?: number): number {
  if (inputBytes !== undefined && inputBytes < SMALL_INPUT_BYTES) return 0;
  return cores >= 2 ? 1 : 0;
}

/** The size of a regular file, or undefined (standard input, a pipe, a device, nothing there). */
export function regularFileBytes(path: string): number | undefined {
  if (path === '-') return undefined;
  try {
    const stat = statSync(path);
    return stat.isFile() ? stat.size : undefined;
  } catch {
    return undefined;
  }
}

export function parseCount(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value.trim());
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}

/**
 * Two of the named files being one file (by path, or by another name: a symlink, a hard link,
 * /dev/stdout) would overwrite the input or one output with another. `stdout` takes part when
 * it carries an output. A journal directory's own files are never an output either.
 */
export function checkDistinct(paths: Record<string, string | undefined>, journalDir?: string, stdoutRole?: string): void {
  const seen = new Map<string, string>();
  const named = Object.entries(paths).filter((entry): entry is [string, string] => entry[1] !== undefined);
  for (const [role, path] of named) {
    const key = fileIdentity(path) ?? `path:${resolve(path)}`;
    const other = seen.get(key) ?? seen.get(`path:${resolve(path)}`);
    if (other !== undefined) throw new UsageError(`${other} and ${role} are the same file '${path}'`);
    seen.set(key, role);
    seen.set(`path:${resolve(path)}`, role);
  }
  if (stdoutRole !== undefined) {
    const stdout = stdoutIdentity();
    const other = stdout === undefined ? undefined : seen.get(stdout);
    if (other !== undefined) throw new UsageError(`${other} and ${stdoutRole} (standard output) are the same file`);
  }
  if (journalDir === undefined) return;
  for (const [role, path] of named) {
    if (role !== 'input' && landsInDirectory(path, journalDir)) {
      throw new UsageError(`${role} '${path}' is inside the journal directory '${journalDir}' (it would overwrite the journal)`);
    }
  }
}

function stdoutIdentity(): string | undefined {
  try {
    const stat = fstatSync(1);
    return stat.isCharacterDevice() ? undefined : `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

export function checkPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9_.{}-]+$/.test(prefix)) throw new UsageError('--prefix may hold only letters, digits and _ . - { }');
}
