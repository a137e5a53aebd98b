// payrun generate --first-tx N through the built binary: a day-2 file whose ids follow day 1's,
// the same mix as the seed's otherwise, and --expected still the reference model's accounts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, useBuiltBinary } from './support/builtBinary.js';

interface Summary {
  rows: number;
  applied: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
}

describe('generate --first-tx', () => {
  const tmp = useBuiltBinary('payrun-first-tx-');
  const payrun = (args: string[]) => spawnSync(BIN, args, { cwd: tmp(), encoding: 'utf8', timeout: 120_000 });
  const summary = (file: string): Summary => JSON.parse(readFileSync(join(tmp(), file), 'utf8')) as Summary;
  const dataRows = (file: string): string[] => readFileSync(join(tmp(), file), 'utf8').split('\n').slice(1, -1);

  it('ids start at N; only the ids change: the same accounts and reasons as the seed\'s default file', () => {
    expect(payrun(['generate', '-q', '-n', '20000', '-c', '40', '--seed', '9', 'default.csv']).status).toBe(0);
    expect(payrun(['generate', '-q', '-n', '20000', '-c', '40', '--seed', '9', '--first-tx', '1', 'from1.csv']).status).toBe(0);
    expect(dataRows('from1.csv')[0]).toMatch(/^deposit,\d+,1,/);
    const plain = payrun(['-q', '--summary-json', 'default.json', 'default.csv']);
    const shifted = payrun(['-q', '--summary-json', 'from1.json', 'from1.csv']);
    expect(shifted.stdout).toBe(plain.stdout);
    const { rejectedByReason: a, rows } = summary('default.json');
    expect(summary('from1.json').rejectedByReason).toEqual(a);
    expect(rows).toBe(20_000);
    // The mix: the same row types in the same order.
    const types = (file: string) => dataRows(file).map((row) => row.split(/[,;]/)[0]);
    expect(types('from1.csv')).toEqual(types('default.csv'));
  });

  it('--expected agrees with the engine on a --first-tx file', () => {
    const r = payrun(['generate', '-q', '-n', '30000', '-c', '60', '--seed', '4', '--first-tx', '500000', '--expected', 'exp.csv', 'mid.csv']);
    expect(r.status, r.stderr).toBe(0);
    expect(payrun(['-q', 'mid.csv']).stdout).toBe(readFileSync(join(tmp(), 'exp.csv'), 'utf8'));
  });

  it('day 1 then day 2 from the id it names: few DUPLICATE_TX through --journal', () => {
    const day1 = payrun(['generate', '-n', '5000', '-c', '50', '--seed', '1', '--first-tx', '1', 'day1.csv']);
    expect(day1.status, day1.stderr).toBe(0);
    const next = /a next file: --first-tx (\d+)\n$/.exec(day1.stderr)?.[1];
    expect(next).toBeDefined();
    expect(Number(next)).toBeGreaterThan(5000);
    expect(payrun(['generate', '-q', '-n', '5000', '-c', '50', '--seed', '2', '--first-tx', next!, 'day2.csv']).status).toBe(0);
    expect(payrun(['-q', '--journal', 'ledger', 'day1.csv']).status).toBe(0);
    expect(payrun(['-q', '--journal', 'ledger', '--summary-json', 'day2.json', 'day2.csv']).status).toBe(0);
    const day2 = summary('day2.json');
    // Only the generator's own aimed duplicates within day 2 (about 0.1%); two files from one id would be ~70%.
    expect(day2.rejectedByReason.DUPLICATE_TX! / day2.rows).toBeLessThan(0.01);
    expect(payrun(['-q', '--summary-json', 'alone.json', 'day2.csv']).status).toBe(0);
    expect(day2.rejectedByReason.DUPLICATE_TX).toBe(summary('alone.json').rejectedByReason.DUPLICATE_TX);
  });

  it('--first-tx out of range is a usage error; --help says --expected is slower', () => {
    const r = payrun(['generate', '-n', '1', '-c', '1', '--first-tx', '4294967296', 'x.csv']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--first-tx must be between 0 and 4294967295/);
    const help = payrun(['generate', '--help']);
    expect(help.stdout).toMatch(/--first-tx <n>/);
    expect(help.stdout).toMatch(/--expected <file>\s+also write the accounts this file must produce; slower/);
  });
});
