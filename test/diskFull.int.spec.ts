// A full disk, for real: a 64 KiB tmpfs mounted by the test (needs root), every writer pointed at it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, useBuiltBinary } from './support/builtBinary.js';

function tryMount(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'payrun-full-disk-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status === 0) return dir;
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}

const disk = tryMount();
const payrun = (args: string[], input?: string) => spawnSync(BIN, args, { encoding: 'utf8', input, timeout: 60_000 });

describe.skipIf(disk === undefined)('a full disk (a real 64 KiB tmpfs; skipped unless root can mount one)', () => {
  const tmp = useBuiltBinary('payrun-full-disk-input-');
  let input = '';
  beforeAll(() => {
    input = join(tmp(), 'tx.csv');
    const r = payrun(['generate', '-q', '-n', '200000', '-c', '5000', '--seed', '3', input]);
    expect(r.status, r.stderr).toBe(0);
  });
  beforeEach(() => {
    for (const name of readdirSync(disk!)) rmSync(join(disk!, name), { recursive: true, force: true });
  });
  afterAll(() => {
    spawnSync('umount', [disk!]);
    rmSync(disk!, { recursive: true, force: true });
  });

  const expectNoSpace = (r: ReturnType<typeof payrun>, path: string): void => {
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`payrun: cannot write '${path}': no space left on device\n`);
  };

  it('-o: exit 1, one line, and no accounts file (neither short nor temp)', () => {
    const out = join(disk!, 'accounts.csv');
    expectNoSpace(payrun(['-q', input, '-o', out]), out);
    expect(readdirSync(disk!)).toEqual([]);
  });

  it('--rejects: exit 1, one line, no accounts on stdout', () => {
    const rejects = join(disk!, 'rejects.csv');
    const r = payrun(['-q', input, '--rejects', rejects]);
    expectNoSpace(r, rejects);
    expect(r.stdout).toBe('');
  });

  it('--journal: exit 1 naming journal.log; the journal stays resumable (verify ok)', () => {
    const dir = join(disk!, 'ledger');
    expectNoSpace(payrun(['-q', input, '--journal', dir]), join(dir, 'journal.log'));
    const verify = payrun(['journal', 'verify', dir]);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  });

  it('journal replay -o: exit 1, one line, no file', () => {
    const journal = join(tmp(), 'replay-ledger');
    expect(payrun(['-q', input, '--journal', journal, '-o', '/dev/null']).status).toBe(0);
    const out = join(disk!, 'replayed.csv');
    expectNoSpace(payrun(['journal', 'replay', journal, '-o', out]), out);
    expect(existsSync(out)).toBe(false);
  });

  it('stream --accounts: exit 1, one line', () => {
    const accounts = join(disk!, 'live.csv');
    const r = spawnSync(BIN, ['stream', '-q', '--accounts', accounts], { input: readFileSync(input), stdio: ['pipe', 'ignore', 'pipe'], timeout: 60_000, encoding: 'utf8' });
    expectNoSpace(r, accounts);
  });

  it('generate and generate --expected: exit 1, one line, no file left', () => {
    const out = join(disk!, 'gen.csv');
    expectNoSpace(payrun(['generate', '-q', '-n', '200000', '-c', '5000', out]), out);
    expect(readdirSync(disk!)).toEqual([]);
    const expected = join(disk!, 'expected.csv');
    expectNoSpace(payrun(['generate', '-q', '-n', '50000', '-c', '5000', '--expected', expected, join(tmp(), 'small.csv')]), expected);
    expect(readdirSync(disk!)).toEqual([]);
  });
});
