/**
 * One timed run of one config: a spawned `node` child with the peak-RSS preload, its stdout
 * written to a file (so the harness does no work while the child runs), its wall time taken
 * with performance.now() from just before spawn to its exit.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface Sample {
  wallS: number;
  /** Peak RSS of the child in KiB (getrusage maxrss, all threads), null if it did not report. */
  rssKiB: number | null;
  exitCode: number;
  /** sha256 of the child's stdout. */
  sha256: string;
  /** Where the child's stdout was kept. */
  stdoutFile: string;
  /** The tail of the child's stderr (empty on a quiet success). */
  stderr: string;
}

export interface Command {
  /** The node script to run and its arguments (the file under test included). */
  script: string;
  args: string[];
  /** Fed to the child's stdin through a pipe from `cat` (a real pipe, as a user's shell makes), or none. */
  stdinFile?: string;
}

export function commandLine(command: Command): string {
  const line = ['node', command.script, ...command.args].join(' ');
  return command.stdinFile === undefined ? line : `cat ${command.stdinFile} | ${line}`;
}

export async function measure(command: Command, peakRssModule: string, scratchDir: string, tag: string): Promise<Sample> {
  const stdoutFile = join(scratchDir, `${tag}.out`);
  const rssFile = join(scratchDir, `${tag}.rss`);
  rmSync(rssFile, { force: true });
  const stdoutFd = openSync(stdoutFile, 'w');
  const stderrParts: Buffer[] = [];
  let stderrBytes = 0;
  const argv = ['--require', peakRssModule, command.script, ...command.args];

  const start = performance.now();
  const feeder = command.stdinFile === undefined ? null : spawn('cat', [command.stdinFile], { stdio: ['ignore', 'pipe', 'ignore'] });
  const child = spawn(process.execPath, argv, {
    stdio: [feeder?.stdout ?? 'ignore', stdoutFd, 'pipe'],
    env: { ...process.env, BENCH_RSS_FILE: rssFile },
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderrBytes < 64 * 1024) stderrParts.push(chunk);
    stderrBytes += chunk.length;
  });
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
  const wallS = (performance.now() - start) / 1000;
  if (feeder !== null && feeder.exitCode === null) await new Promise((resolve) => feeder.once('exit', resolve));
  closeSync(stdoutFd);

  let rssKiB: number | null = null;
  try {
    const value = Number(readFileSync(rssFile, 'utf8').trim());
    if (Number.isFinite(value) && value > 0) rssKiB = value;
  } catch {
    // no report: the child died before 'exit' (a signal) or never loaded the preload
  }
  const sha256 = createHash('sha256').update(readFileSync(stdoutFile)).digest('hex');
  const stderr = Buffer.concat(stderrParts).toString('utf8').slice(-2000);
  return { wallS, rssKiB, exitCode, sha256, stdoutFile, stderr };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The first line where two output files differ, for a readable mismatch message. */
export function firstDifference(fileA: string, fileB: string): string {
  const a = readFileSync(fileA, 'utf8').split('\n');
  const b = readFileSync(fileB, 'utf8').split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}: ${JSON.stringify(a[i] ?? '<end>')} vs ${JSON.stringify(b[i] ?? '<end>')}`;
  }
  return 'identical';
}
