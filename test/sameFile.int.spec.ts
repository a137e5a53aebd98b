// An output that is the input (or another output, or the journal) by another name is refused before anything is written.
import { spawnSync } from 'node:child_process';
import { closeSync, linkSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, useBuiltBinary } from './support/builtBinary.js';

const SAMPLE = 'type,client,tx,amount\ndeposit,1,1,10\nfoo,1,2,3\n';

describe('outputs that are the input, another output or the journal by another name', () => {
  const tmp = useBuiltBinary('payrun-same-file-');
  const at = (name: string): string => join(tmp(), name);
  const payrun = (args: string[], stdoutFile?: string) => {
    const fd = stdoutFile === undefined ? 'pipe' : openSync(stdoutFile, 'w');
    const r = spawnSync(BIN, args, { cwd: tmp(), encoding: 'utf8', stdio: ['ignore', fd, 'pipe'], timeout: 30_000 });
    if (typeof fd === 'number') closeSync(fd);
    return r;
  };
  const journalBytes = (): Buffer => readFileSync(at('ledger/journal.log'));

  beforeAll(() => {
    writeFileSync(at('in.csv'), SAMPLE);
    symlinkSync('in.csv', at('soft.csv'));
    linkSync(at('in.csv'), at('hard.csv'));
    writeFileSync(at('out.csv'), '');
    symlinkSync('out.csv', at('to-out.csv'));
    expect(payrun(['-q', '--journal', 'ledger', 'in.csv']).status).toBe(0);
    symlinkSync('ledger/journal.log', at('to-journal.csv'));
  });

  it.each([
    [['--rejects', 'soft.csv', 'in.csv'], "input and --rejects are the same file 'soft.csv'"],
    [['--rejects', 'hard.csv', 'in.csv'], "input and --rejects are the same file 'hard.csv'"],
    [['-o', 'soft.csv', 'in.csv'], "input and --output are the same file 'soft.csv'"],
    [['-o', 'out.csv', '--rejects', 'to-out.csv', 'in.csv'], "--output and --rejects are the same file 'to-out.csv'"],
    [['--journal', 'ledger', '--rejects', 'ledger/journal.log', 'in.csv'], "--rejects 'ledger/journal.log' is inside the journal directory 'ledger'"],
    [['--journal', 'ledger', '--rejects', 'to-journal.csv', 'in.csv'], "--rejects 'to-journal.csv' is inside the journal directory 'ledger'"],
    [['--journal', 'ledger', '-o', 'ledger/lock', 'in.csv'], "--output 'ledger/lock' is inside the journal directory 'ledger'"],
    [['journal', 'replay', 'ledger', '-o', 'ledger/journal.log'], "--output 'ledger/journal.log' is inside the journal directory 'ledger'"],
    [['journal', 'replay', 'ledger', '-o', 'to-journal.csv'], "--output 'to-journal.csv' is inside the journal directory 'ledger'"],
  ])('payrun %j: exit 2, one line, the input and the journal untouched', (args, message) => {
    const before = journalBytes();
    const r = payrun(args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
    expect(readFileSync(at('in.csv'), 'utf8')).toBe(SAMPLE);
    expect(journalBytes()).toEqual(before);
    const verify = payrun(['journal', 'verify', 'ledger']);
    expect(verify.status, verify.stdout).toBe(0);
  });

  it('--rejects /dev/stdout while standard output carries the accounts: exit 2, nothing written', () => {
    const r = payrun(['--rejects', '/dev/stdout', 'in.csv'], at('stdout.txt'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--rejects and the accounts (standard output) are the same file');
    expect(readFileSync(at('stdout.txt'), 'utf8')).toBe('');
  });

  it('--rejects /dev/stdout with -o FILE is fine: the rejects go to standard output', () => {
    const r = payrun(['-q', '--rejects', '/dev/stdout', '-o', 'accounts.csv', 'in.csv'], at('stdout.txt'));
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(at('stdout.txt'), 'utf8')).toBe('line,reason,row\n3,UNKNOWN_TYPE,"foo,1,2,3"\n');
  });

  it('stream --accounts inside the journal directory: exit 2', () => {
    const r = payrun(['stream', '--journal', 'ledger', '--accounts', 'ledger/accounts.csv']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--accounts 'ledger/accounts.csv' is inside the journal directory 'ledger'");
  });
});
