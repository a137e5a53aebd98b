// The journal as a ledger carried over between runs, through the real binary: one file split
// into days and applied one by one equals one plain run of all of it, whatever --workers is.
import { cpSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBuiltBinary } from './support/builtBinary.js';
import { accountsOf, Kind, lines, listRecords, payrun, splitCsv } from './support/journalTools.js';
import { csv, runCsv } from './support/runCsv.js';

/** Data rows of each day: uneven, so days do not line up with chunks. */
const DAYS = [7_000, 13_000, 9_000, 11_000];
const TOTAL = DAYS.reduce((a, b) => a + b, 0);
const REJECTS_HEADER = 'line,reason,row\n';

const tempDir = useBuiltBinary('payrun-journal-incremental-');

let allText = '';
let parts: string[] = [];
let files: string[] = [];
let plainAll = '';
let plainRejects = '';
/** Accounts of a plain run of days 1..k, k = 1..4. */
let prefixAccounts: string[] = [];
/** The journal of the workers-0 run, and each day's rejects file from it. */
let journal0 = '';
let journalRejects: string[] = [];
let dirs = 0;

const newDir = (name: string): string => join(tempDir(), `${dirs++}-${name}`);

function write(name: string, text: string): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  return path;
}

/** The data lines of a CSV (header dropped). */
const dataLines = (text: string): string[] => text.split('\n').slice(1).filter((line) => line !== '');

/** A rejects file's rows with their line numbers moved by `by`. */
function shiftRejects(rejects: string, by: number): string[] {
  expect(rejects.startsWith(REJECTS_HEADER)).toBe(true);
  return dataLines(rejects).map((row) => {
    const comma = row.indexOf(',');
    return `${Number(row.slice(0, comma)) + by}${row.slice(comma)}`;
  });
}

/** Applies every day in order through a journal (workers per day); returns each run's accounts and rejects. */
function applyDays(dir: string, workers: number[]): { accounts: string[]; rejects: string[] } {
  const accounts: string[] = [];
  const rejects: string[] = [];
  files.forEach((file, k) => {
    const rejectsFile = `${dir}-rejects-${k + 1}.csv`;
    accounts.push(accountsOf(['--journal', dir, '--workers', String(workers[k]), '-q', '--rejects', rejectsFile, file]));
    rejects.push(readFileSync(rejectsFile, 'utf8'));
  });
  return { accounts, rejects };
}

beforeAll(async () => {
  const all = join(tempDir(), 'all.csv');
  const g = payrun(['generate', '-n', String(TOTAL), '-c', '30', '--seed', '23', '-q', all]);
  expect(g.status, g.stderr).toBe(0);
  allText = readFileSync(all, 'utf8');
  parts = splitCsv(allText, DAYS);
  files = parts.map((text, k) => write(`day${k + 1}.csv`, text));
  const rejects = join(tempDir(), 'plain-rejects.csv');
  plainAll = accountsOf(['--workers', '0', '-q', '--rejects', rejects, all]);
  plainRejects = readFileSync(rejects, 'utf8');
  expect(dataLines(plainRejects).length).toBeGreaterThan(100);
  const rows = dataLines(allText);
  prefixAccounts = [];
  let upTo = 0;
  for (const n of DAYS) {
    upTo += n;
    prefixAccounts.push((await runCsv(csv(...rows.slice(0, upTo)))).accounts);
  }
  expect(prefixAccounts.at(-1)).toBe(plainAll);

  journal0 = newDir('journal');
  const applied = applyDays(journal0, [0, 0, 0, 0]);
  expect(applied.accounts).toEqual(prefixAccounts);
  journalRejects = applied.rejects;
});

describe('days applied one by one', () => {
  it('each run prints the whole ledger so far; after the last, the accounts of one plain run of all rows', () => {
    // (applied in beforeAll)
    expect(prefixAccounts.at(-1)).toBe(plainAll);
    expect(new Set(prefixAccounts).size).toBe(DAYS.length);
  });

  it("each day's rejects are the plain run's rejects of that day's rows, by the day's own line numbers", () => {
    const combined: string[] = [];
    let before = 0;
    journalRejects.forEach((rejects, k) => {
      const shifted = shiftRejects(rejects, before);
      // Every rejected line lies in that day's rows (line 1 is its header).
      for (const row of dataLines(rejects)) {
        const line = Number(row.slice(0, row.indexOf(',')));
        expect(line).toBeGreaterThanOrEqual(2);
        expect(line).toBeLessThanOrEqual(DAYS[k]! + 1);
      }
      combined.push(...shifted);
      before += DAYS[k]!;
    });
    expect(combined).toEqual(dataLines(plainRejects));
  });

  it('journal verify: ok, with every input applied and every row', () => {
    const r = payrun(['journal', 'verify', journal0]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${TOTAL} rows, 4 inputs,`);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('ok');
    DAYS.forEach((n, k) => expect(r.stdout).toMatch(new RegExp(`input ${k + 1}: .*day${k + 1}\\.csv sha256 \\w+ ${n} rows \\(\\d+ rejected\\), applied`)));
  });

  it.each([
    ['--workers 2 every day', [2, 2, 2, 2]],
    ['--workers changing from day to day', [2, 0, 1, 2]],
    ['--workers 1 every day', [1, 1, 1, 1]],
  ])('%s: the same accounts and rejects every day', (_, workers) => {
    const dir = newDir(`journal-workers-${workers.join('')}`);
    const applied = applyDays(dir, workers);
    expect(applied.accounts).toEqual(prefixAccounts);
    expect(applied.rejects).toEqual(journalRejects);
    // Regression: --workers >= 2 marks a duplicate row by OR-ing DUPLICATE_FLAG (0x80) into the
    // shared type column; a journal that kept the flag could be neither replayed nor verified.
    expect(accountsOf(['journal', 'replay', dir])).toBe(plainAll);
    const verify = payrun(['journal', 'verify', dir]);
    expect(verify.status, verify.stderr.slice(0, 2000)).toBe(0);
  });

  it('every day holds DUPLICATE_TX rows (so the --workers 2 runs above journal some)', () => {
    for (const rejects of journalRejects) expect(rejects).toContain(',DUPLICATE_TX,');
  });
});

describe('journal replay', () => {
  it('of everything: the final accounts', () => {
    expect(accountsOf(['journal', 'replay', journal0])).toBe(plainAll);
    const out = join(tempDir(), 'replayed.csv');
    expect(accountsOf(['journal', 'replay', journal0, '-o', out])).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(plainAll);
  });

  it('--until-line N --input 2: day 1 and the rows of day 2 up to its line N', async () => {
    const day1 = dataLines(parts[0]!);
    const day2 = dataLines(parts[1]!);
    for (const n of [1, 2, 3, 4_321, 8_888, DAYS[1]!, DAYS[1]! + 1, DAYS[1]! + 50]) {
      const expected = (await runCsv(csv(...day1, ...day2.slice(0, n - 1)))).accounts;
      expect(accountsOf(['journal', 'replay', journal0, '--until-line', String(n), '--input', '2']), `line ${n}`).toBe(expected);
    }
  });

  it('--until-line without --input stops in the last input', async () => {
    const rows = dataLines(allText);
    const before = DAYS[0]! + DAYS[1]! + DAYS[2]!;
    const expected = (await runCsv(csv(...rows.slice(0, before + 5_000 - 1)))).accounts;
    expect(accountsOf(['journal', 'replay', journal0, '--until-line', '5000'])).toBe(expected);
  });

  it("--until-seq at each day's end record: the accounts of the days so far", () => {
    const ends = listRecords(join(journal0, 'journal.log')).filter((r) => r.kind === Kind.InputEnd);
    expect(ends).toHaveLength(DAYS.length);
    ends.forEach((end, k) => expect(accountsOf(['journal', 'replay', journal0, '--until-seq', String(end.seq)])).toBe(prefixAccounts[k]));
  });

  it('--input beyond the inputs it holds is an error', () => {
    const r = payrun(['journal', 'replay', journal0, '--until-line', '5', '--input', '5']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^payrun: .*--input 5: the journal holds inputs 1 to 4/);
  });
});

describe('an applied file run again', () => {
  function journalFiles(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of readdirSync(dir)) out[name] = `${statSync(join(dir, name)).size}:${readFileSync(join(dir, name)).toString('base64').slice(-64)}`;
    return out;
  }

  it('is a no-op that prints the whole ledger and the same rejects, and leaves the journal as it was', () => {
    const dir = newDir('again');
    cpSync(journal0, dir, { recursive: true });
    const before = journalFiles(dir);
    const log = readFileSync(join(dir, 'journal.log'));
    for (const k of [1, 3, 0]) {
      const rejects = `${dir}-rejects-again-${k}.csv`;
      const r = payrun(['--journal', dir, '--workers', '0', '--rejects', rejects, files[k]!]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(plainAll);
      expect(lines(r.stderr).some((line) => line.includes('already applied') && line.includes(`input ${k + 1}`))).toBe(true);
      expect(readFileSync(rejects, 'utf8')).toBe(journalRejects[k]);
    }
    expect(journalFiles(dir)).toEqual(before);
    expect(readFileSync(join(dir, 'journal.log')).equals(log)).toBe(true);
  });

  it('under another name (recognised by content) is a no-op too', () => {
    const dir = newDir('renamed');
    cpSync(journal0, dir, { recursive: true });
    const renamed = write('same-as-day2.csv', parts[1]!);
    const r = payrun(['--journal', dir, renamed]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('already applied');
    expect(r.stdout).toBe(plainAll);
  });
});

describe('across days', () => {
  it('a tx id owned on day 1 is DUPLICATE_TX on day 2 (deposit or withdrawal, any client)', async () => {
    const dir = newDir('dup');
    const day1 = ['deposit,1,100,5.0', 'deposit,1,101,2', 'withdrawal,1,102,0.5'];
    const day2 = ['deposit,2,100,3.0', 'withdrawal,1,101,1.0', 'deposit,2,103,1', 'deposit,1,102,9'];
    const f1 = write('dup-day1.csv', csv(...day1));
    const f2 = write('dup-day2.csv', csv(...day2));
    expect(accountsOf(['--journal', dir, '-q', f1])).toBe('client,available,held,total,locked\n1,6.5000,0.0000,6.5000,false\n');
    const rejects = `${dir}-rejects.csv`;
    const out = accountsOf(['--journal', dir, '-q', '--rejects', rejects, f2]);
    expect(out).toBe('client,available,held,total,locked\n1,6.5000,0.0000,6.5000,false\n2,1.0000,0.0000,1.0000,false\n');
    expect(out).toBe((await runCsv(csv(...day1, ...day2))).accounts);
    expect(readFileSync(rejects, 'utf8')).toBe(`${REJECTS_HEADER}2,DUPLICATE_TX,"deposit,2,100,3.0"\n3,DUPLICATE_TX,"withdrawal,1,101,1.0"\n5,DUPLICATE_TX,"deposit,1,102,9"\n`);
  });

  it('a deposit of day 1 can be disputed on day 2 and charged back on day 3; other clients cannot name it', async () => {
    const dir = newDir('dispute');
    const days = [
      ['deposit,1,1,10', 'deposit,1,2,5', 'deposit,2,3,4'],
      ['dispute,1,1', 'dispute,1,3', 'resolve,1,2', 'dispute,2,1'],
      ['chargeback,1,1', 'withdrawal,1,4,1', 'dispute,1,2', 'deposit,1,5,1.5'],
    ];
    const header = 'client,available,held,total,locked\n';
    const expected = [
      `${header}1,15.0000,0.0000,15.0000,false\n2,4.0000,0.0000,4.0000,false\n`,
      `${header}1,5.0000,10.0000,15.0000,false\n2,4.0000,0.0000,4.0000,false\n`,
      `${header}1,1.5000,5.0000,6.5000,true\n2,4.0000,0.0000,4.0000,false\n`,
    ];
    const expectedRejects = [
      REJECTS_HEADER,
      `${REJECTS_HEADER}3,UNKNOWN_TX,"dispute,1,3"\n4,NOT_DISPUTED,"resolve,1,2"\n5,UNKNOWN_TX,"dispute,2,1"\n`,
      `${REJECTS_HEADER}3,ACCOUNT_LOCKED,"withdrawal,1,4,1"\n`,
    ];
    for (let k = 0; k < days.length; k++) {
      const file = write(`dispute-day${k + 1}.csv`, csv(...days[k]!));
      const rejects = `${dir}-rejects-${k + 1}.csv`;
      expect(accountsOf(['--journal', dir, '-q', '--rejects', rejects, file]), `day ${k + 1}`).toBe(expected[k]);
      expect(readFileSync(rejects, 'utf8')).toBe(expectedRejects[k]);
    }
    expect(expected[2]).toBe((await runCsv(csv(...days.flat()))).accounts);
    expect(accountsOf(['journal', 'replay', dir])).toBe(expected[2]);
  });

  it('an empty or header-only day is recorded as applied and changes nothing', () => {
    const dir = newDir('empty');
    const f1 = write('empty-day1.csv', csv('deposit,7,1,1'));
    const f2 = write('empty-day2.csv', 'type,client,tx,amount\n');
    const one = accountsOf(['--journal', dir, '-q', f1]);
    expect(accountsOf(['--journal', dir, '-q', f2])).toBe(one);
    const again = payrun(['--journal', dir, f2]);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('already applied');
    expect(again.stdout).toBe(one);
  });
});

describe('an unfinished day (a crash after some of its batches)', () => {
  it('refuses another file, refuses a changed one, then resumes the same file and goes on', async () => {
    const dir = newDir('unfinished');
    // One worker reads 256 KiB chunks: day 2 (13,000 rows) is at least two batches.
    expect(accountsOf(['--journal', dir, '--workers', '1', '-q', files[1]!])).toBe((await runCsv(parts[1]!)).accounts);
    const log = join(dir, 'journal.log');
    const records = listRecords(log);
    const batches = records.filter((r) => r.kind === Kind.Batch);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    // As if the run died right after its first batch was on disk (so before its end-of-input snapshot).
    truncateSync(log, batches[0]!.offset + batches[0]!.bytes);
    for (const file of readdirSync(dir).filter((f) => f.startsWith('snapshot-'))) rmSync(join(dir, file));
    const verify = payrun(['journal', 'verify', dir]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`unfinished at line ${batches[0]!.rows! + 1}`);

    const bytes = readFileSync(log);
    const other = payrun(['--journal', dir, '--workers', '1', files[2]!]);
    expect(other.status).toBe(1);
    expect(other.stdout).toBe('');
    const refusal = lines(other.stderr).at(-1)!;
    expect(refusal).toMatch(/^payrun: /);
    expect(refusal).toContain('unfinished');
    expect(refusal).toContain(files[1]!);
    expect(readFileSync(log).equals(bytes)).toBe(true);

    // The same name with other content: refused as changed.
    const original = parts[1]!;
    writeFileSync(files[1]!, original.replace(/\n[^\n]*\n$/, '\n'));
    const changed = payrun(['--journal', dir, '--workers', '1', files[1]!]);
    writeFileSync(files[1]!, original);
    expect(changed.status).toBe(1);
    expect(changed.stdout).toBe('');
    expect(lines(changed.stderr).at(-1)).toMatch(/^payrun: .*changed since its unfinished run/);
    expect(readFileSync(log).equals(bytes)).toBe(true);

    const resumed = payrun(['--journal', dir, '--workers', '2', files[1]!]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming ${files[1]!} at line ${batches[0]!.rows! + 2}`);
    expect(resumed.stdout).toBe((await runCsv(parts[1]!)).accounts);
    const next = accountsOf(['--journal', dir, '--workers', '0', '-q', files[2]!]);
    expect(next).toBe((await runCsv(csv(...dataLines(parts[1]!), ...dataLines(parts[2]!)))).accounts);
  });
});
