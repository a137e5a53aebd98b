// Faults of issue 13 on a --journal directory, through the real binary: a journal that lost
// history next to snapshots proving more, damage before the newest snapshot, and a crash right
// after an input's first record, an input that changes while it is read. Each is a refusal with one line (never a wrong balance, never a
// snapshot deleted) or an identical result.
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBuiltBinary } from './support/builtBinary.js';
import { type PayrunExit, spawnPayrun } from './support/crashLoop.js';
import { accountsOf, expectRefused, flipByte, Kind, lines, listRecords, payrun, type RecordInfo, splitCsv } from './support/journalTools.js';

const ROWS_DAY1 = 40_000;
const ROWS_DAY2 = 6_000;
const JOURNAL_FLAGS = ['--workers', '1', '--snapshot-every', '12000'];

const tempDir = useBuiltBinary('payrun-journal-faults-');

let day1 = '';
let day2 = '';
let plainAll = '';
let plainDay1 = '';
let rejectsDay1 = '';
/** A journal holding day 1 only, with snapshots during and at its end. */
let base = '';
let records: RecordInfo[] = [];
let copies = 0;

function copy(): string {
  const dir = join(tempDir(), `case-${copies++}`);
  cpSync(base, dir, { recursive: true });
  return dir;
}

const journalLog = (dir: string): string => join(dir, 'journal.log');
const snapshots = (dir: string): string[] => readdirSync(dir).filter((f) => /^snapshot-\d{12}\.bin$/.test(f)).sort();
const run = (dir: string, file: string, ...extra: string[]) => payrun(['--journal', dir, ...JOURNAL_FLAGS, ...extra, file]);

beforeAll(() => {
  const tmp = tempDir();
  const all = join(tmp, 'all.csv');
  const g = payrun(['generate', '-n', String(ROWS_DAY1 + ROWS_DAY2), '-c', '30', '--seed', '13', '-q', all]);
  expect(g.status, g.stderr).toBe(0);
  const [one, two] = splitCsv(readFileSync(all, 'utf8'), [ROWS_DAY1, ROWS_DAY2]);
  day1 = join(tmp, 'day1.csv');
  day2 = join(tmp, 'day2.csv');
  writeFileSync(day1, one!);
  writeFileSync(day2, two!);
  plainAll = accountsOf(['--workers', '0', '-q', all]);
  plainDay1 = accountsOf(['--workers', '0', '-q', day1]);
  const rejects = join(tmp, 'plain-rejects-day1.csv');
  accountsOf(['--workers', '0', '-q', '--rejects', rejects, day1]);
  rejectsDay1 = readFileSync(rejects, 'utf8');
  base = join(tmp, 'base');
  expect(accountsOf(['--journal', base, ...JOURNAL_FLAGS, '-q', day1])).toBe(plainDay1);
  records = listRecords(journalLog(base));
  expect(records.filter((r) => r.kind === Kind.Snapshot).length).toBeGreaterThanOrEqual(2);
  expect(snapshots(base).length).toBe(2);
});

/** The one refusal of a journal that lost history: exit 1, one line, every snapshot kept. */
function expectLostHistory(dir: string): string {
  // Compared as hex digests: a deep equal of megabyte buffers takes seconds.
  const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
  const state = (): string[] => [...snapshots(dir).map((file) => `${file} ${digest(join(dir, file))}`), existsSync(journalLog(dir)) ? digest(journalLog(dir)) : 'no journal.log'];
  const before = state();
  const message = expectRefused(run(dir, day2), dir);
  expect(message).toMatch(/lost records/);
  expect(lines(run(dir, day1).stderr).at(-1)).toBe(message);
  expect(state()).toEqual(before);
  const v = payrun(['journal', 'verify', dir]);
  expect(v.status).toBe(1);
  expect(v.stderr).toMatch(/problem: snapshot snapshot-\d{12}\.bin holds the state as of record \d+ at byte \d+, past the journal's end/);
  return message;
}

describe('a journal that lost history while snapshots proving more survive', () => {
  it('journal.log zeroed in place: refused with one line, snapshots kept', () => {
    const dir = copy();
    writeFileSync(journalLog(dir), Buffer.alloc(readFileSync(journalLog(dir)).length));
    expectLostHistory(dir);
  });

  it('journal.log emptied: refused', () => {
    const dir = copy();
    writeFileSync(journalLog(dir), '');
    expectLostHistory(dir);
  });

  it('journal.log deleted: refused, and no new journal.log is made', () => {
    const dir = copy();
    rmSync(journalLog(dir));
    expectLostHistory(dir);
    expect(existsSync(journalLog(dir))).toBe(false);
  });

  it('journal.log cut back to an earlier record boundary: refused', () => {
    const dir = copy();
    const cut = records.filter((r) => r.kind === Kind.Snapshot).at(-2)!;
    truncateSync(journalLog(dir), cut.offset);
    expectLostHistory(dir);
  });
});

describe('damage before the newest snapshot', () => {
  it('a flipped byte in an early batch: every run refuses (day 2 is not appended on top of it)', () => {
    const dir = copy();
    const target = records.filter((r) => r.kind === Kind.Batch)[1]!;
    flipByte(journalLog(dir), target.offset + Math.floor(target.bytes / 3));
    const before = readFileSync(journalLog(dir));
    for (const file of [day2, day1]) expect(expectRefused(run(dir, file), dir)).toContain(`at byte ${target.offset}`);
    expect(readFileSync(journalLog(dir)).equals(before)).toBe(true);
  });
});

describe('a crash right after an input began (its InputBegin the last record)', () => {
  it('the resume starts at the beginning, with the header check: identical accounts and rejects', () => {
    const dir = join(tempDir(), `case-${copies++}`);
    cpSync(base, dir, { recursive: true });
    const begin = records.find((r) => r.kind === Kind.InputBegin)!;
    truncateSync(journalLog(dir), begin.offset + begin.bytes);
    // A crash that early left no snapshot.
    for (const file of snapshots(dir)) rmSync(join(dir, file));
    const rejects = `${dir}-rejects.csv`;
    const r = run(dir, day1, '--rejects', rejects);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('resuming');
    expect(r.stdout).toBe(plainDay1);
    expect(readFileSync(rejects, 'utf8')).toBe(rejectsDay1);
    expect(accountsOf(['--journal', dir, ...JOURNAL_FLAGS, '-q', day2])).toBe(plainAll);
    expect(payrun(['journal', 'verify', dir]).status).toBe(0);
  });
});

describe('the input changes under a journaled run (truncated or appended to mid-run)', () => {
  const ROWS_BIG = 600_000;
  let big = '';
  let original = Buffer.alloc(0);
  let plainBig = '';
  let plainBigRejects = '';

  beforeAll(() => {
    big = join(tempDir(), 'big.csv');
    const g = payrun(['generate', '-n', String(ROWS_BIG), '-c', '200', '--seed', '17', '-q', big]);
    expect(g.status, g.stderr).toBe(0);
    original = readFileSync(big);
    const rejects = join(tempDir(), 'big-plain-rejects.csv');
    plainBig = accountsOf(['--workers', '0', '-q', '--rejects', rejects, big]);
    plainBigRejects = readFileSync(rejects, 'utf8');
  });

  /** Starts a journaled run of big.csv and changes the file once its first batches are journaled. */
  async function runWhileChanging(dir: string, change: () => void): Promise<PayrunExit> {
    let changed = false;
    const exit = await spawnPayrun(['--journal', dir, '--workers', '0', '--fsync', 'off', '--snapshot-every', '100000000', big], {
      control: () => {
        const timer = setInterval(() => {
          if (!changed && existsSync(journalLog(dir)) && statSync(journalLog(dir)).size > 200_000) {
            changed = true;
            change();
          }
        }, 2);
        return () => clearInterval(timer);
      },
    });
    expect(changed, 'the run ended before the file could be changed').toBe(true);
    return exit;
  }

  function expectChangedRefusal(exit: PayrunExit, dir: string): void {
    expect(exit.code, exit.stderr).toBe(1);
    expect(exit.stdout.length).toBe(0);
    const last = lines(exit.stderr).at(-1)!;
    expect(last).toMatch(new RegExp(`^payrun: '${big}' changed while it was read \\(${original.length} bytes, sha256 [0-9a-f]{12} when the run began; .*\\); it stays unfinished in journal '${dir}': restore that content and run the same command to finish it, or undo its rows with 'payrun journal abandon ${dir}'$`));
    expect(lines(exit.stderr)).toHaveLength(1);
    const v = payrun(['journal', 'verify', dir]);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/input 1: .* unfinished at line \d+/);
  }

  /** The content put back: the same command resumes and finishes with the accounts and rejects of a plain run. */
  function expectResumedAfterRestore(dir: string): void {
    writeFileSync(big, original);
    const rejects = `${dir}-rejects.csv`;
    const r = payrun(['--journal', dir, '--workers', '0', '--rejects', rejects, big]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('resuming');
    expect(r.stdout).toBe(plainBig);
    expect(readFileSync(rejects, 'utf8')).toBe(plainBigRejects);
  }

  it('truncated mid-line: one line, exit 1, the input unfinished; restored, it resumes to the plain result', async () => {
    const dir = join(tempDir(), `case-${copies++}`);
    const exit = await runWhileChanging(dir, () => truncateSync(big, Math.floor(original.length / 2) + 3));
    expectChangedRefusal(exit, dir);
    expectResumedAfterRestore(dir);
  });

  it('appended to: the same refusal; restored, the same result', async () => {
    const dir = join(tempDir(), `case-${copies++}`);
    const exit = await runWhileChanging(dir, () => appendFileSync(big, 'deposit,1,4000000000,1.0\n'));
    expectChangedRefusal(exit, dir);
    expectResumedAfterRestore(dir);
  });
});
