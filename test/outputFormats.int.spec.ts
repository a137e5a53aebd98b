// Outputs users expect, through the built binary: --format csv|json|ndjson for the accounts (the
// batch run and journal replay) and --summary-json FILE on the batch run.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, useBuiltBinary } from './support/builtBinary.js';

const SAMPLE = join(import.meta.dirname, '..', 'fixtures', 'sample.csv');
const SAMPLE_ACCOUNTS = [
  { client: 1, available: '95.0000', held: '0.0000', total: '95.0000', locked: false },
  { client: 2, available: '200.0000', held: '0.0000', total: '200.0000', locked: false },
  { client: 3, available: '0.0000', held: '0.0000', total: '0.0000', locked: true },
];

describe('--format and --summary-json', () => {
  const tmp = useBuiltBinary('payrun-formats-');
  const payrun = (args: string[], input = '') => spawnSync(BIN, args, { cwd: tmp(), encoding: 'utf8', input, timeout: 60_000 });

  it('--format csv is the default, byte for byte', () => {
    const plain = payrun(['-q', SAMPLE]);
    const csv = payrun(['-q', '--format', 'csv', SAMPLE]);
    expect(csv.status).toBe(0);
    expect(csv.stdout).toBe(plain.stdout);
    expect(plain.stdout).toMatch(/^client,available,held,total,locked\n1,95.0000,/);
  });

  it('--format json: one array; client a number, amounts exact decimal strings, locked a boolean', () => {
    const r = payrun(['-q', '--format', 'json', SAMPLE]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(SAMPLE_ACCOUNTS);
  });

  it('--format ndjson: one object per line, also to -o FILE', () => {
    const r = payrun(['-q', '--format', 'ndjson', '-o', 'accounts.ndjson', SAMPLE]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const lines = readFileSync(join(tmp(), 'accounts.ndjson'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line))).toEqual(SAMPLE_ACCOUNTS);
  });

  it('an empty input: [] and nothing', () => {
    expect(payrun(['-q', '--format', 'json', '-'], 'type,client,tx,amount\n').stdout).toBe('[]\n');
    expect(payrun(['-q', '--format', 'ndjson', '-'], 'type,client,tx,amount\n').stdout).toBe('');
  });

  it('an unknown format is a usage error', () => {
    const r = payrun(['--format', 'xml', SAMPLE]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/argument 'xml' is invalid\. Allowed choices are csv, json, ndjson\./);
  });

  it('journal replay --format json|ndjson gives the batch run\'s objects', () => {
    expect(payrun(['-q', '--journal', 'ledger', SAMPLE]).status).toBe(0);
    const json = payrun(['journal', 'replay', 'ledger', '--format', 'json']);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(SAMPLE_ACCOUNTS);
    expect(json.stdout).toBe(payrun(['-q', '--format', 'json', SAMPLE]).stdout);
    const ndjson = payrun(['journal', 'replay', 'ledger', '--format', 'ndjson', '--until-line', '2']);
    expect(ndjson.stdout).toBe('{"client":1,"available":"100.0000","held":"0.0000","total":"100.0000","locked":false}\n');
    expect(payrun(['journal', 'replay', 'ledger']).stdout).toBe(payrun(['-q', SAMPLE]).stdout);
  });

  it('--summary-json FILE holds the summary\'s numbers, also with --quiet', () => {
    const r = payrun(['--quiet', '--summary-json', 'summary.json', SAMPLE]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const summary = JSON.parse(readFileSync(join(tmp(), 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(summary)).toEqual(['rows', 'applied', 'rejected', 'rejectedByReason', 'accounts', 'seconds', 'rowsPerSecond']);
    expect(summary).toMatchObject({ rows: 12, applied: 11, rejected: 1, accounts: 3 });
    const byReason = summary.rejectedByReason as Record<string, number>;
    expect(Object.keys(byReason)).toHaveLength(14);
    expect(byReason.INSUFFICIENT_FUNDS).toBe(1);
    expect(byReason.MALFORMED_ROW).toBe(0);
    expect(typeof summary.seconds).toBe('number');
    expect(summary.rowsPerSecond).toBeGreaterThan(0);
  });

  it('--summary-json agrees with the stderr summary on a generated file with every reason code', () => {
    expect(payrun(['generate', '-q', '-n', '20000', '-c', '30', '--seed', '5', 'gen.csv']).status).toBe(0);
    const r = payrun(['--summary-json', 'gen.json', 'gen.csv']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(tmp(), 'gen.json'), 'utf8')) as { rows: number; applied: number; rejected: number; accounts: number; rejectedByReason: Record<string, number> };
    const text = r.stderr.replace(/,(?=\d{3})/g, '');
    expect(text).toContain(`${summary.rows} rows read, ${summary.applied} applied, ${summary.rejected} rejected`);
    expect(text).toContain(`${summary.accounts} accounts`);
    for (const [code, n] of Object.entries(summary.rejectedByReason)) if (n > 0) expect(text).toContain(`${code} ${n}`);
    expect(Object.values(summary.rejectedByReason).reduce((a, b) => a + b, 0)).toBe(summary.rejected);
  });

  it('a journaled input already applied: a summary of zero rows, and the accounts', () => {
    writeFileSync(join(tmp(), 'day.csv'), 'type,client,tx,amount\ndeposit,4,1,2.5\n');
    expect(payrun(['-q', '--journal', 'again', 'day.csv']).status).toBe(0);
    const r = payrun(['-q', '--journal', 'again', '--summary-json', 'again.json', 'day.csv']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(tmp(), 'again.json'), 'utf8'))).toMatchObject({ rows: 0, applied: 0, rejected: 0, accounts: 1 });
  });

  it('--summary-json must be distinct from the other files, and not -', () => {
    expect(payrun(['-q', '--journal', 'j', SAMPLE]).status).toBe(0);
    const cases: [string[], RegExp][] = [
      [['--summary-json', SAMPLE, SAMPLE], /input and --summary-json are the same file/],
      [['--summary-json', 'x.csv', '--rejects', 'x.csv', SAMPLE], /--rejects and --summary-json are the same file/],
      [['--summary-json', 'o.csv', '-o', 'o.csv', SAMPLE], /--output and --summary-json are the same file/],
      [['--summary-json', 'j/s.json', '--journal', 'j', SAMPLE], /--summary-json 'j\/s.json' is inside the journal directory/],
      [['--summary-json', '-', SAMPLE], /--summary-json needs a file/],
    ];
    for (const [args, message] of cases) {
      const r = payrun(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('no --summary-json file after a fatal error', () => {
    writeFileSync(join(tmp(), 'bad.csv'), 'kind,client,tx,amount\n');
    const r = payrun(['--summary-json', 'bad.json', 'bad.csv']);
    expect(r.status).toBe(1);
    expect(existsSync(join(tmp(), 'bad.json'))).toBe(false);
  });
});
