// Misuse and failure paths through the real built binary: one `payrun: ...` line, the right exit
// code, and no file destroyed.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, useBuiltBinary } from './support/builtBinary.js';

const tempDir = useBuiltBinary('payrun-robust-');
const SAMPLE = readFileSync(join(ROOT, 'fixtures', 'sample.csv'));

function payrun(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tempDir(), input: '', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr).toMatch(/^payrun: [^\n]+\n$/);
  expect(stderr).not.toMatch(/\n\s+at |node:internal/);
  expect(stderr).toMatch(pattern);
}

/** A file whose second line is rejected, followed by ~1 MB of rows: several chunks, so fatal errors meet batches in flight. */
function strictInput(): string {
  const rows = ['type,client,tx,amount', 'withdrawal,1,1,5'];
  for (let i = 2; i < 30_000; i++) rows.push(`deposit,${i % 500},${i},12.3456`);
  const path = join(tempDir(), 'strict.csv');
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

describe('the same file named twice is a usage error, and nothing is overwritten', () => {
  it.each([
    [['--rejects', 'in.csv', 'in.csv'], /input and --rejects/],
    [['-o', 'in.csv', 'in.csv'], /input and --output/],
    [['-o', 'x.csv', '--rejects', 'x.csv', 'in.csv'], /--output and --rejects/],
    [['--rejects', '-', 'in.csv'], /--rejects needs a file/],
    [['generate', '-n', '5', '-c', '2', '--expected', 'in.csv', 'in.csv'], /--expected/],
  ])('payrun %j', (args, pattern) => {
    writeFileSync(join(tempDir(), 'in.csv'), SAMPLE);
    const r = payrun(args);
    expect(r.status).toBe(2);
    expectOneLine(r.stderr, pattern);
    expect(readFileSync(join(tempDir(), 'in.csv'))).toEqual(SAMPLE);
  });
});

describe('fatal errors with batches in flight', () => {
  it.each([0, 1, 2])('--strict on a multi-chunk input with %i workers: one line, exit 1, no accounts', (workers) => {
    const r = payrun(['--strict', '--workers', String(workers), strictInput()]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expectOneLine(r.stderr, /INSUFFICIENT_FUNDS \(.*strict\.csv:2\)$/m);
  });

  it.each([1, 2])('a bad header after 300,000 blank lines with %i workers', (workers) => {
    const path = join(tempDir(), 'blank-then-bad.csv');
    writeFileSync(path, `${'\n'.repeat(300_000)}type,client,tx,amoun\n`);
    const r = payrun(['--workers', String(workers), path]);
    expect(r.status).toBe(1);
    expectOneLine(r.stderr, /bad header.*blank-then-bad\.csv:300001\), found 'type,client,tx,amoun'$/m);
  });
});

describe('-o onto something that is not a regular file writes into it', () => {
  it('a FIFO stays a FIFO and its reader gets the accounts', () => {
    const fifo = join(tempDir(), 'accounts.fifo');
    execFileSync('mkfifo', [fifo]);
    const input = join(tempDir(), 'in.csv');
    writeFileSync(input, SAMPLE);
    const r = spawnSync('sh', ['-c', `cat "$1" > "$1.out" & "$2" "$3" -q -o "$1" "$4"; wait`, 'sh', fifo, process.execPath, BIN, input], {
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(readFileSync(`${fifo}.out`, 'utf8')).toMatch(/^client,available,held,total,locked\n1,95\.0000/);
  });
});
