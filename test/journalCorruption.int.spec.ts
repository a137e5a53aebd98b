// A damaged --journal directory, through the real binary: what `journal verify` says, and what
// the next run does (refuses, or recovers with a warning). Whenever a run prints accounts they
// are the accounts of a plain run of the same rows: never a wrong balance.
import { cpSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBuiltBinary } from './support/builtBinary.js';
import {
  accountsOf,
  duplicateRecord,
  expectRefused,
  flipByte,
  Kind,
  lines,
  listRecords,
  payrun,
  type RecordInfo,
  reasonColumnOffset,
  resealRecord,
  splitCsv,
} from './support/journalTools.js';

const ROWS_DAY1 = 50_000;
const ROWS_DAY2 = 8_000;
/** One worker reads 256 KiB chunks: ~7,500 rows a batch, so day 1 is 7 batches and day 2 two. */
const JOURNAL_FLAGS = ['--workers', '1', '--snapshot-every', '15000'];

const tempDir = useBuiltBinary('payrun-journal-corruption-');

let day1 = '';
let day2 = '';
/** Plain runs (no journal): all rows, and day 1 alone. */
let plainAll = '';
let plainDay1 = '';
/** The rejects files of day 1 and day 2 as the sound journal's runs wrote them. */
let rejectsDay1 = '';
let rejectsDay2 = '';
/** The sound journal, copied for each case. */
let base = '';
let records: RecordInfo[] = [];
let snapshotRecords: RecordInfo[] = [];
let newest = '';
let older = '';
let day1Batches: RecordInfo[] = [];
let day2Batches: RecordInfo[] = [];
let copies = 0;

/** A fresh copy of the sound journal. */
function copy(): string {
  const dir = join(tempDir(), `case-${copies++}`);
  cpSync(base, dir, { recursive: true });
  return dir;
}

const journalLog = (dir: string): string => join(dir, 'journal.log');
const run = (dir: string, file: string, ...extra: string[]) => payrun(['--journal', dir, ...JOURNAL_FLAGS, ...extra, file]);
const verify = (dir: string) => payrun(['journal', 'verify', dir]);

function expectVerifyOk(dir: string): string {
  const r = verify(dir);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('ok');
  return r.stdout;
}

/** verify exits 1, nothing on stdout, and one `problem:` line matching `problem`. */
function expectVerifyProblem(dir: string, problem: string | RegExp): string {
  const r = verify(dir);
  expect(r.status, r.stdout).toBe(1);
  expect(r.stdout).toBe('');
  const problems = lines(r.stderr).filter((line) => line.startsWith('problem: '));
  expect(problems.length).toBeGreaterThan(0);
  expect(problems.some((line) => (typeof problem === 'string' ? line.includes(problem) : problem.test(line))), problems.slice(0, 5).join('\n')).toBe(true);
  expect(r.stderr).toMatch(/\d+ problems? found\n$/);
  return r.stderr;
}

beforeAll(() => {
  const tmp = tempDir();
  const all = join(tmp, 'all.csv');
  const g = payrun(['generate', '-n', String(ROWS_DAY1 + ROWS_DAY2), '-c', '40', '--seed', '11', '-q', all]);
  expect(g.status, g.stderr).toBe(0);
  const [one, two] = splitCsv(readFileSync(all, 'utf8'), [ROWS_DAY1, ROWS_DAY2]);
  day1 = join(tmp, 'day1.csv');
  day2 = join(tmp, 'day2.csv');
  writeFileSync(day1, one!);
  writeFileSync(day2, two!);
  plainAll = accountsOf(['--workers', '0', '-q', all]);
  plainDay1 = accountsOf(['--workers', '0', '-q', day1]);

  base = join(tmp, 'base');
  const rejects1 = join(tmp, 'rejects-day1.csv');
  expect(accountsOf(['--journal', base, ...JOURNAL_FLAGS, '-q', '--rejects', rejects1, day1])).toBe(plainDay1);
  rejectsDay1 = readFileSync(rejects1, 'utf8');
  const rejects = join(tmp, 'rejects-day2.csv');
  expect(accountsOf(['--journal', base, ...JOURNAL_FLAGS, '-q', '--rejects', rejects, day2])).toBe(plainAll);
  rejectsDay2 = readFileSync(rejects, 'utf8');

  // The layout the cases rely on: snapshots during and at the end of day 1; day 2, small next
  // to the ledger, ends with no snapshot, so its records come after the newest one.
  records = listRecords(journalLog(base));
  expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
  snapshotRecords = records.filter((r) => r.kind === Kind.Snapshot);
  expect(snapshotRecords.length).toBeGreaterThanOrEqual(2);
  newest = snapshotRecords.at(-1)!.json!.file as string;
  older = snapshotRecords.at(-2)!.json!.file as string;
  expect(existsSync(join(base, newest)) && existsSync(join(base, older))).toBe(true);
  day1Batches = records.filter((r) => r.kind === Kind.Batch && r.input === 0);
  day2Batches = records.filter((r) => r.kind === Kind.Batch && r.input === 1);
  expect(day2Batches.length).toBeGreaterThanOrEqual(2);
  expect(day2Batches[0]!.offset).toBeGreaterThan(snapshotRecords.at(-1)!.offset);
  expect(records.at(-1)!.kind).toBe(Kind.InputEnd);
  // At least one day-1 batch between the two kept snapshots, and one before them.
  expect(day1Batches.some((b) => b.offset > snapshotRecords.at(-2)!.offset && b.offset < snapshotRecords.at(-1)!.offset)).toBe(true);
  expect(day1Batches[0]!.offset).toBeLessThan(snapshotRecords.at(-2)!.offset);
});

describe('the sound journal', () => {
  it('verifies ok with no note, and replays to the plain run of all rows', () => {
    const out = expectVerifyOk(base);
    expect(out).not.toContain('note:');
    expect(out).toContain(`${records.length} records, ${ROWS_DAY1 + ROWS_DAY2} rows, 2 inputs, `);
    expect(accountsOf(['journal', 'replay', base])).toBe(plainAll);
  });
});

describe('a flipped byte in a middle record', () => {
  it('after the newest snapshot: verify reports the damaged record, every run refuses and leaves the journal as it was', () => {
    const dir = copy();
    const target = day2Batches[0]!;
    flipByte(journalLog(dir), target.offset + Math.floor(target.bytes / 2));
    expectVerifyProblem(dir, `problem: damaged record at byte ${target.offset} (checksum mismatch), with good records after it`);
    const before = readFileSync(journalLog(dir));
    for (const file of [day2, day1]) {
      const message = expectRefused(run(dir, file), dir);
      expect(message).toContain(`at byte ${target.offset}`);
    }
    expect(readFileSync(journalLog(dir)).equals(before)).toBe(true);
    expect(existsSync(join(dir, newest)) && existsSync(join(dir, older))).toBe(true);
    expectRefused(payrun(['journal', 'replay', dir]), dir);
  });

  it('in a frame header (the length field): the same damage, not a torn tail', () => {
    const dir = copy();
    const target = day2Batches[0]!;
    flipByte(journalLog(dir), target.offset + 5, 0x01);
    expectVerifyProblem(dir, `problem: damaged record at byte ${target.offset}`);
    expectRefused(run(dir, day2), dir);
  });

  it.each([
    ['between the two kept snapshots', () => day1Batches.find((b) => b.offset > snapshotRecords.at(-2)!.offset && b.offset < snapshotRecords.at(-1)!.offset)!],
    ['before both snapshots', () => day1Batches[1]!],
  ])('%s: verify reports it; every run refuses (recovery checks every frame, not only those after the snapshot); replay refuses', (_, pick) => {
    const dir = copy();
    const target = pick();
    flipByte(journalLog(dir), target.offset + Math.floor(target.bytes / 3));
    expectVerifyProblem(dir, `problem: damaged record at byte ${target.offset} (checksum mismatch), with good records after it`);
    for (const file of [day2, day1]) expect(expectRefused(run(dir, file), dir)).toContain(`at byte ${target.offset}`);
    expectRefused(payrun(['journal', 'replay', dir]), dir);
  });

  // Was a bug: the rejects of an applied input are read back from its records, which may lie
  // before the newest snapshot (recovery never reads them); the reading stopped at the bad frame
  // without looking at why, so the run exited 0 with a rejects file silently cut short.
  it('an applied day run again over a damaged earlier record refuses with one line (never a rejects file cut short)', () => {
    const dir = copy();
    const target = day1Batches[1]!;
    flipByte(journalLog(dir), target.offset + Math.floor(target.bytes / 3));
    const rejects = `${dir}-rejects-day1.csv`;
    expect(expectRefused(run(dir, day1, '--rejects', rejects), dir)).toContain(`at byte ${target.offset}`);
    expect(rejectsDay1.length).toBeGreaterThan(0);
  });
});

describe('a journal cut mid-record (a torn tail)', () => {
  it('mid the last record: verify notes it and says ok; the next run cuts it off with a warning and finishes day 2 right', () => {
    const dir = copy();
    const last = records.at(-1)!;
    truncateSync(journalLog(dir), last.offset + 30);
    const out = expectVerifyOk(dir);
    expect(out).toContain(`note: torn last record at byte ${last.offset}`);
    const rejects = `${dir}-rejects.csv`;
    const r = run(dir, day2, '--rejects', rejects);
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stderr).some((line) => line.includes('torn') && line.includes(`at byte ${last.offset}`))).toBe(true);
    expect(r.stdout).toBe(plainAll);
    expect(readFileSync(rejects, 'utf8')).toBe(rejectsDay2);
    expect(expectVerifyOk(dir)).not.toContain('torn');
    expect(accountsOf(['journal', 'replay', dir])).toBe(plainAll);
  });

  it('mid the last batch, later records gone (a crash mid-write): the run resumes day 2 from the input', () => {
    const dir = copy();
    const last = day2Batches.at(-1)!;
    truncateSync(journalLog(dir), last.offset + Math.floor(last.bytes / 2));
    expect(expectVerifyOk(dir)).toContain(`note: torn last record at byte ${last.offset}`);
    const rejects = `${dir}-rejects.csv`;
    const r = run(dir, day2, '--rejects', rejects);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/torn/);
    expect(r.stderr).toMatch(/resuming .*day2\.csv/);
    expect(r.stdout).toBe(plainAll);
    expect(readFileSync(rejects, 'utf8')).toBe(rejectsDay2);
    expectVerifyOk(dir);
  });

  it("mid day 1's last snapshot record: the unconfirmed snapshot is dropped, day 1 stays applied, day 2 then runs right", () => {
    const dir = copy();
    const last = snapshotRecords.at(-1)!;
    truncateSync(journalLog(dir), last.offset + 40);
    expect(expectVerifyOk(dir)).toContain(`note: torn last record at byte ${last.offset}`);
    const again = run(dir, day1);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/torn/);
    expect(again.stderr).toContain(`removed snapshot ${newest}`);
    expect(again.stderr).toContain('already applied');
    expect(again.stdout).toBe(plainDay1);
    expect(existsSync(join(dir, newest))).toBe(false);
    expect(accountsOf(['--journal', dir, ...JOURNAL_FLAGS, '-q', day2])).toBe(plainAll);
    expect(expectVerifyOk(dir)).not.toContain('torn');
  });
});

describe('a deleted snapshot', () => {
  it('the newest: verify reports it missing; the run warns and rebuilds the same state from the journal', () => {
    const dir = copy();
    rmSync(join(dir, newest));
    expectVerifyProblem(dir, `problem: snapshot ${newest} is missing`);
    const r = run(dir, day2);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`snapshot ${newest} is missing`);
    expect(r.stdout).toBe(plainAll);
    expect(accountsOf(['journal', 'replay', dir])).toBe(plainAll);
  });

  it('both: the run warns about each and rebuilds from the journal alone', () => {
    const dir = copy();
    rmSync(join(dir, newest));
    rmSync(join(dir, older));
    expectVerifyProblem(dir, `problem: snapshot ${older} is missing`);
    const r = run(dir, day2);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`snapshot ${newest} is missing`);
    expect(r.stderr).toContain(`snapshot ${older} is missing`);
    expect(r.stdout).toBe(plainAll);
  });

  it('the older one: verify reports it missing; the run still prints the right accounts', () => {
    const dir = copy();
    rmSync(join(dir, older));
    expectVerifyProblem(dir, `problem: snapshot ${older} is missing`);
    const r = run(dir, day2);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(plainAll);
  });
});

describe('a half-written snapshot temp file (kill -9 before its rename)', () => {
  it('verify notes it and says ok; the next run removes it with a one-line warning, output unchanged', () => {
    const dir = copy();
    // The temp name writeSnapshotFile uses, for the snapshot of the journal's last record, cut short.
    const temp = `.snapshot-${String(records.length).padStart(12, '0')}.bin.tmp`;
    writeFileSync(join(dir, temp), readFileSync(join(dir, newest)).subarray(0, 100_000));
    const out = expectVerifyOk(dir);
    expect(lines(out).filter((line) => line.startsWith('note: '))).toEqual([`note: ${temp} is a snapshot a crash left half-written; it is never used, and the next run removes it`]);
    const rejects = `${dir}-rejects.csv`;
    const r = run(dir, day2, '--rejects', rejects);
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stderr).filter((line) => line.includes(temp))).toEqual([`payrun: journal '${dir}': removed ${temp}, a snapshot a crash left half-written (never used)`]);
    expect(r.stderr).toContain('already applied');
    expect(r.stdout).toBe(plainAll);
    expect(readFileSync(rejects, 'utf8')).toBe(rejectsDay2);
    expect(existsSync(join(dir, temp))).toBe(false);
    expect(expectVerifyOk(dir)).not.toContain('note:');
    // Nothing else to remove the next time.
    expect(run(dir, day2).stderr).not.toContain('removed');
  });

  it('next to a journal with day 1 only: day 2 then runs as usual, the accounts and rejects of a sound run', () => {
    const dir = join(tempDir(), `case-${copies++}`);
    expect(accountsOf(['--journal', dir, ...JOURNAL_FLAGS, '-q', day1])).toBe(plainDay1);
    const seq = listRecords(journalLog(dir)).length;
    const temp = `.snapshot-${String(seq).padStart(12, '0')}.bin.tmp`;
    writeFileSync(join(dir, temp), 'PAYRUNSS');
    const rejects = `${dir}-rejects.csv`;
    const r = run(dir, day2, '--rejects', rejects);
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stderr).filter((line) => line.includes(temp))).toHaveLength(1);
    expect(r.stdout).toBe(plainAll);
    expect(readFileSync(rejects, 'utf8')).toBe(rejectsDay2);
    expect(existsSync(join(dir, temp))).toBe(false);
    expect(expectVerifyOk(dir)).not.toContain('note:');
  });
});

describe('a duplicated record (a copy inserted right after it)', () => {
  it.each([
    ['a day-2 batch, after the newest snapshot', () => day2Batches[0]!],
    ['a day-1 batch, between the snapshots', () => day1Batches.find((b) => b.offset > snapshotRecords.at(-2)!.offset && b.offset < snapshotRecords.at(-1)!.offset)!],
    ['the last record', () => records.at(-1)!],
  ])('%s: verify reports a sequence break; every run refuses', (_, pick) => {
    const dir = copy();
    const target = pick();
    duplicateRecord(journalLog(dir), target);
    expectVerifyProblem(dir, `out of sequence: expected record ${target.seq + 1}`);
    const before = readFileSync(journalLog(dir));
    const message = expectRefused(run(dir, day2), dir);
    expect(message).toContain(`record ${target.seq} at byte ${target.offset + target.bytes}: out of sequence: expected record ${target.seq + 1}`);
    expectRefused(run(dir, day1), dir);
    expect(readFileSync(journalLog(dir)).equals(before)).toBe(true);
    expectRefused(payrun(['journal', 'replay', dir]), dir);
  });
});

describe('a flipped byte inside a snapshot file', () => {
  it('the newest: verify reports its checksum; the run warns, uses the older one, and prints the right accounts', () => {
    const dir = copy();
    const seq = snapshotRecords.at(-1)!.seq;
    flipByte(join(dir, newest), 200_000);
    expectVerifyProblem(dir, `problem: snapshot ${newest} (record ${seq}): snapshot checksum mismatch`);
    const r = run(dir, day2);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`snapshot ${newest} is unusable (snapshot checksum mismatch); using an older one`);
    expect(r.stdout).toBe(plainAll);
  });

  it('both, in their headers: the run rebuilds from the journal and prints the right accounts', () => {
    const dir = copy();
    flipByte(join(dir, newest), 17);
    flipByte(join(dir, older), 40);
    expectVerifyProblem(dir, `problem: snapshot ${older}`);
    const r = run(dir, day2);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`snapshot ${newest} is unusable`);
    expect(r.stderr).toContain(`snapshot ${older} is unusable`);
    expect(r.stdout).toBe(plainAll);
  });
});

describe('a decision changed and the frame resealed (damage no checksum sees)', () => {
  it('verify and the next run find the replayed decision differs', () => {
    const dir = copy();
    const target = day2Batches[0]!;
    const codes = ['APPLIED', 'MALFORMED_ROW', 'UNKNOWN_TYPE', 'BAD_CLIENT', 'BAD_TX', 'BAD_AMOUNT', 'DUPLICATE_TX', 'OVERFLOW', 'ACCOUNT_LOCKED', 'INSUFFICIENT_FUNDS', 'UNKNOWN_TX'];
    let was = 0;
    let now = 0;
    resealRecord(journalLog(dir), target, (payload) => {
      // A business rejection (code 6 and up) turned into another one: the rejected rows' texts still line up.
      const reasons = reasonColumnOffset(target.rows!);
      for (let i = 0; i < target.rows!; i++) {
        const reason = payload[reasons + i]!;
        if (reason >= 6 && reason <= 9) {
          was = reason;
          now = reason === 9 ? 8 : 9;
          payload[reasons + i] = now;
          return;
        }
      }
      throw new Error('no business rejection in the batch');
    });
    const mismatch = new RegExp(`record ${target.seq} at byte ${target.offset}: line \\d+: replay decides ${codes[was]}, the journal says ${codes[now]}`);
    expectVerifyProblem(dir, mismatch);
    expect(expectRefused(run(dir, day2), dir)).toMatch(mismatch);
    expectRefused(payrun(['journal', 'replay', dir]), dir);
  });
});
