// `payrun journal abandon DIR` through the real binary (issue 13 item 11): a file with a fatal
// line mid-way stays unfinished and blocks every later file; abandoning it undoes its rows so the
// next file runs and the accounts are those of a journal that never saw it. Killed (SIGKILL) at
// several moments of the abandon, the next verify and run are still right.
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, useBuiltBinary } from './support/builtBinary.js';
import { spawnPayrun } from './support/crashLoop.js';
import { accountsOf, Kind, listRecords, payrun, splitCsv } from './support/journalTools.js';

const InputAbandon = 7;
const BAD_ROWS = 100_000;
const LONG_LINE_BYTES = 40 * 1024 * 1024;
const FLAGS = ['--workers', '1', '--snapshot-every', '20000'];

const tempDir = useBuiltBinary('payrun-abandon-');

let day1 = '';
let day2 = '';
let bad = '';
/** Accounts of day 1 then day 2 (a journal that never saw the bad file). */
let withoutBad = '';
/** A journal: day 1 applied, the bad file unfinished (with snapshots taken inside it). */
let base = '';
let undone = 0;
let copies = 0;

const log = (dir: string): string => join(dir, 'journal.log');
const snapshots = (dir: string): string[] => readdirSync(dir).filter((f) => /^snapshot-\d{12}\.bin$/.test(f)).sort();

function copy(from = base): string {
  const dir = join(tempDir(), `case-${copies++}`);
  cpSync(from, dir, { recursive: true });
  return dir;
}

beforeAll(() => {
  const tmp = tempDir();
  const all = join(tmp, 'all.csv');
  expect(payrun(['generate', '-n', '45000', '-c', '40', '--seed', '21', '-q', all]).status).toBe(0);
  const [one, two] = splitCsv(readFileSync(all, 'utf8'), [40_000, 5_000]);
  day1 = join(tmp, 'day1.csv');
  day2 = join(tmp, 'day2.csv');
  writeFileSync(day1, one!);
  writeFileSync(day2, two!);
  withoutBad = accountsOf(['-q', all]);
  // The bad file: other rows of the same clients and tx ids (applied, they would change day 2's outcomes), a 40 MiB line, more rows.
  const other = join(tmp, 'other.csv');
  expect(payrun(['generate', '-n', String(BAD_ROWS + 1000), '-c', '40', '--seed', '22', '-q', other]).status).toBe(0);
  const [head, tail] = splitCsv(readFileSync(other, 'utf8'), [BAD_ROWS, 1000]);
  bad = join(tmp, 'bad.csv');
  writeFileSync(bad, `${head!}deposit,1,99999999,1.0${' '.repeat(LONG_LINE_BYTES)}\n${tail!.slice(tail!.indexOf('\n') + 1)}`);

  base = join(tmp, 'base');
  expect(accountsOf(['--journal', base, ...FLAGS, '-q', day1])).not.toBe('');
  const failed = payrun(['--journal', base, ...FLAGS, bad]);
  expect(failed.status).toBe(1);
  expect(failed.stdout).toBe('');
  const said = new RegExp(
    `^payrun: a line is longer than 16777216 bytes \\(${bad}:${BAD_ROWS + 2}\\); it stays unfinished in journal '${base}' with (\\d+) rows applied, and no other file runs on it until 'payrun journal abandon ${base}' undoes them\\n$`,
  ).exec(failed.stderr);
  expect(said, failed.stderr).not.toBeNull();
  undone = Number(said![1]);
  expect(undone).toBeGreaterThan(0);
}, 120_000);

describe('payrun journal abandon', () => {
  it('a fatal file blocks the next one until abandoned; then the next file runs as if the bad one never had', () => {
    const dir = copy();
    const refused = payrun(['--journal', dir, ...FLAGS, day2]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(`^payrun: journal '${dir}' has an unfinished run of '${bad}' \\(sha256 [0-9a-f]{12}, ${undone} rows applied, up to line \\d+\\); run that file again to finish it first \\(or undo its rows with 'payrun journal abandon ${dir}'\\)\\n$`),
    );
    const inside = snapshots(dir);
    const abandon = payrun(['journal', 'abandon', dir]);
    expect(abandon.stderr).toBe('');
    expect(abandon.status).toBe(0);
    expect(abandon.stdout).toMatch(
      new RegExp(`^payrun: abandoned input 2 '${bad}' \\(sha256 [0-9a-f]{12}\\): undid ${undone} rows \\(its lines 1 to \\d+\\); journal '${dir}' is as it was before that input began\\n$`),
    );
    const records = listRecords(log(dir));
    expect(records.at(-2)).toMatchObject({ kind: InputAbandon, json: { input: 1, rows: undone } });
    expect(records.at(-1)!.kind).toBe(Kind.Snapshot);
    expect(inside.length).toBeGreaterThan(0);

    expect(accountsOf(['--journal', dir, ...FLAGS, '-q', day2])).toBe(withoutBad);
    const verify = payrun(['journal', 'verify', dir]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/input 2: .*bad\.csv sha256 [0-9a-f]{12} \d+ rows \(\d+ rejected\), abandoned \(none of its rows is applied\)/);
    expect(accountsOf(['journal', 'replay', dir])).toBe(withoutBad);

    const again = payrun(['journal', 'abandon', dir]);
    expect(again.status).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(`payrun: journal '${dir}' has no unfinished input; nothing to abandon\n`);
  });

  it('the abandoned content runs again as a new input (and fails at the same line, the journal unchanged before it)', () => {
    const dir = copy();
    expect(payrun(['journal', 'abandon', dir]).status).toBe(0);
    const rerun = payrun(['--journal', dir, ...FLAGS, bad]);
    expect(rerun.status).toBe(1);
    expect(rerun.stderr).toContain(`(${bad}:${BAD_ROWS + 2}); it stays unfinished`);
    expect(payrun(['journal', 'abandon', dir]).stdout).toMatch(/^payrun: abandoned input 3 /);
    expect(accountsOf(['--journal', dir, ...FLAGS, '-q', day2])).toBe(withoutBad);
    expect(payrun(['journal', 'verify', dir]).status).toBe(0);
  });

  it('a line too long is placed (file:line) with any engine, and in a stream', () => {
    for (const workers of ['0', '2']) {
      const r = payrun(['--workers', workers, '-o', join(tempDir(), 'never.csv'), bad]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`payrun: a line is longer than 16777216 bytes (${bad}:${BAD_ROWS + 2})\n`);
    }
    const fd = openSync(bad, 'r');
    try {
      const s = spawnSync(process.execPath, [BIN, 'stream', '-q'], { stdio: [fd, 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
      expect(s.status).toBe(1);
      expect(s.stderr.toString()).toBe(`payrun: a line is longer than 16777216 bytes (stdin:${BAD_ROWS + 2})\n`);
    } finally {
      closeSync(fd);
    }
  });

  it('nothing to abandon, or no journal: one line, exit 1', () => {
    const none = join(tempDir(), 'no-journal');
    const r = payrun(['journal', 'abandon', none]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`payrun: no journal in '${none}'\n`);
    expect(existsSync(none)).toBe(false);
  });
});

/** After an abandon killed at some moment: verify is sound, the abandon is finished (or done again), and day 2 gives the right accounts. */
function expectRecovers(dir: string, what: string): 'abandoned before' | 'abandoned now' {
  const verify = payrun(['journal', 'verify', dir]);
  expect(verify.status, `${what}: ${verify.stderr}`).toBe(0);
  const again = payrun(['journal', 'abandon', dir]);
  if (again.status === 0) expect(again.stdout, what).toMatch(new RegExp(`undid ${undone} rows`));
  else expect(again.stderr, what).toMatch(/has no unfinished input \(input 2 '[^']*bad\.csv', sha256 [0-9a-f]{12}, is abandoned already\); nothing to abandon\n$/);
  const next = payrun(['--journal', dir, ...FLAGS, '-q', day2]);
  expect(next.status, `${what}: ${next.stderr}`).toBe(0);
  expect(next.stdout, what).toBe(withoutBad);
  expect(payrun(['journal', 'verify', dir]).status, what).toBe(0);
  return again.status === 0 ? 'abandoned now' : 'abandoned before';
}

describe('payrun journal abandon killed (SIGKILL)', () => {
  it('at the moments it writes: after its record, during and after its snapshot, and at timed moments', async () => {
    const baseLog = statSync(log(base)).size;
    const baseSnapshots = new Set(snapshots(base));
    const timing = copy();
    const whole = await spawnPayrun(['journal', 'abandon', timing]);
    expect(whole.code).toBe(0);
    const moments: { name: string; ready: (dir: string, ms: number) => boolean }[] = [
      { name: 'its record written', ready: (dir) => statSync(log(dir)).size > baseLog },
      { name: 'its snapshot being written', ready: (dir) => readdirSync(dir).some((f) => f.endsWith('.bin.tmp')) },
      { name: 'its snapshot renamed', ready: (dir) => snapshots(dir).some((f) => !baseSnapshots.has(f)) },
      ...[0.5, 0.8, 0.95].map((share) => ({ name: `${Math.round(share * whole.ms)} ms in`, ready: (_dir: string, ms: number) => ms >= share * whole.ms })),
    ];
    const outcomes: string[] = [];
    for (const moment of moments) {
      const dir = copy();
      const started = performance.now();
      const exit = await spawnPayrun(['journal', 'abandon', dir], {
        control: (_child, send) => {
          const poll = setInterval(() => {
            if (moment.ready(dir, performance.now() - started)) send('SIGKILL');
          }, 1);
          return () => clearInterval(poll);
        },
      });
      outcomes.push(`${moment.name}: ${exit.sent ? 'killed' : 'finished'}, ${expectRecovers(dir, moment.name)}`);
    }
    // The moments named by what is on disk are met by every abandon: each was a kill.
    expect(outcomes.slice(0, 3).every((line) => line.includes(': killed, abandoned before')), outcomes.join('\n')).toBe(true);
  }, 240_000);

  it('the states a kill leaves, made exactly: a torn record, the record alone, a snapshot without its record', () => {
    const done = copy();
    expect(payrun(['journal', 'abandon', done]).status).toBe(0);
    const records = listRecords(log(done));
    const abandonRecord = records.find((r) => r.kind === InputAbandon)!;
    const snapshotRecord = records.at(-1)!;
    const restored = snapshots(done).find((f) => !snapshots(base).includes(f))!;
    const withLog = (bytes: number, extra?: string): string => {
      const dir = copy();
      writeFileSync(log(dir), readFileSync(log(done)).subarray(0, bytes));
      if (extra !== undefined) cpSync(join(done, extra), join(dir, extra));
      return dir;
    };
    // Torn: the abandon never happened; the input is still unfinished and is abandoned now.
    expect(expectRecovers(withLog(abandonRecord.offset + 10), 'torn record')).toBe('abandoned now');
    // The record alone: the abandon holds; snapshots inside the input are passed over, not removed.
    const recordOnly = withLog(abandonRecord.offset + abandonRecord.bytes);
    const inside = snapshots(recordOnly);
    const verify = payrun(['journal', 'verify', recordOnly]);
    expect(verify.stdout).toMatch(/note: snapshot snapshot-\d{12}\.bin \(record \d+\) was taken inside input 2, abandoned later: not checked, never used/);
    expect(payrun(['journal', 'abandon', recordOnly]).status).toBe(1);
    expect(snapshots(recordOnly)).toEqual(inside); // the next run's recovery passed over them: none removed
    expect(expectRecovers(recordOnly, 'record, no snapshot')).toBe('abandoned before');
    // The restored snapshot renamed into place, its record not written: removed as unconfirmed.
    const unconfirmed = withLog(snapshotRecord.offset, restored);
    const next = payrun(['--journal', unconfirmed, ...FLAGS, day2]);
    expect(next.stderr).toContain(`removed snapshot ${restored}, which a crash left unconfirmed`);
    expect(next.stdout).toBe(withoutBad);
    expect(payrun(['journal', 'verify', unconfirmed]).status).toBe(0);
  });
});
