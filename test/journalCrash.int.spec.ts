// `payrun --journal DIR` under crashes and signals, through the real built binary: SIGKILL at
// seeded moments and restart until a run finishes; SIGINT/SIGTERM stop and resume; a repeated run
// is a no-op. The outcome is always checked as byte-identity with an uninterrupted plain run
// (`payrun tx.csv --rejects r.csv -o a.csv`, no journal). The long version (200 kills on 1M rows)
// is `npm run test:crash` (scripts/crash-test.ts), on the same helper.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBuiltBinary } from './support/builtBinary.js';
import {
  type CrashConfig,
  type CrashInput,
  type CrashReport,
  crashLoop,
  formatReport,
  payrunOk,
  prepareInput,
  spawnPayrun,
} from './support/crashLoop.js';

const ROWS = 300_000;
const CLIENTS = 2_000;
const SEED = 424_242;
const KILLS = 20;
const CRASH_TIMEOUT_MS = 120_000;

const tempDir = useBuiltBinary('payrun-journal-crash-');
let input: CrashInput;

beforeAll(async () => {
  input = await prepareInput(tempDir(), ROWS, CLIENTS, SEED);
}, 60_000);

function expectSurvived(report: CrashReport): void {
  const summary = formatReport(report);
  console.log(summary);
  expect(report.landed, summary).toBeGreaterThanOrEqual(KILLS);
  expect(report.uninterruptedIdentical, 'the journaled run without kills gives the plain run\'s output').toBe(true);
  expect(report.accountsIdentical, summary).toBe(true);
  expect(report.rejectsIdentical, summary).toBe(true);
  const verified = `journal verify: ${report.verify.stdout}${report.verify.stderr}`;
  expect(report.verify.code, verified).toBe(0);
  expect(report.verify.stdout.trimEnd(), verified).toMatch(/\nok$/);
  expect(`${report.verify.stdout}${report.verify.stderr}`, verified).toMatch(new RegExp(`\\n {2}input 1: [^\\n]*tx\\.csv sha256 [0-9a-f]{12} ${ROWS} rows \\(\\d+ rejected\\), applied\\n`));
  expect(report.unexpectedStderr).toEqual([]);
  // A snapshot temp file a kill left is removed by the next run: none is left at the end.
  expect(report.strayFiles.filter((f) => /^\.snapshot-/.test(f))).toEqual([]);
  // Kills landed mid-run, and a resume never goes back (every row journaled before a kill stays).
  expect(report.resumedAt.length, summary).toBeGreaterThanOrEqual(3);
  expect(report.resumedAt).toEqual([...report.resumedAt].sort((a, b) => a - b));
}

function scenario(config: Omit<CrashConfig, 'kills'>): Promise<CrashReport> {
  return crashLoop(input, { kills: KILLS, ...config });
}

describe('SIGKILL at seeded moments, restarted with the same command until it finishes', () => {
  it(
    `--workers 0, --fsync batch, -o: at least ${KILLS} kills land; accounts and rejects byte-identical; journal verify ok`,
    async () => {
      expectSurvived(await scenario({ name: 'kill-w0', workers: 0, fsync: 'batch', snapshotEvery: 20_000, seed: 1 }));
    },
    CRASH_TIMEOUT_MS,
  );

  it(
    `--workers 1, --fsync always, accounts on stdout: at least ${KILLS} kills land; output byte-identical; journal verify ok`,
    async () => {
      expectSurvived(await scenario({ name: 'kill-w1', workers: 1, fsync: 'always', snapshotEvery: 20_000, stdout: true, seed: 2 }));
    },
    CRASH_TIMEOUT_MS,
  );

  // The sharded engine flags duplicates in the type column in memory; the journal must hold plain types.
  it(
    `--workers 2, --fsync batch: at least ${KILLS} kills land; output byte-identical; journal verify ok`,
    async () => {
      expectSurvived(await scenario({ name: 'kill-w2', workers: 2, fsync: 'batch', snapshotEvery: 20_000, seed: 3 }));
    },
    CRASH_TIMEOUT_MS,
  );

  it('a --workers 2 journal of a file with a duplicate tx id verifies', async () => {
    const dir = join(tempDir(), 'dup-w2');
    const csv = join(tempDir(), 'dup.csv');
    writeFileSync(csv, 'type,client,tx,amount\ndeposit,1,1,1.0\ndeposit,2,1,2.0\ndeposit,3,2,3.0\n');
    await payrunOk(['--journal', dir, '--workers', '2', '-q', csv, '-o', join(tempDir(), 'dup-accounts.csv')]);
    const verify = await spawnPayrun(['journal', 'verify', dir]);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
  });
});

describe('a journal.log left empty by a kill between its creation and its start record', () => {
  // A kill between creating journal.log and writing its start record leaves it empty.
  it('the next run still makes a journal that verifies', async () => {
    const dir = join(tempDir(), 'empty-journal');
    mkdirSync(dir);
    writeFileSync(join(dir, 'journal.log'), '');
    const accounts = join(tempDir(), 'empty-journal-accounts.csv');
    await payrunOk(['--journal', dir, '-q', '--workers', '0', input.csv, '-o', accounts]);
    expect(readFileSync(accounts).equals(input.accounts)).toBe(true);
    const verify = await spawnPayrun(['journal', 'verify', dir]);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
  });
});

/** The journaled command of the signal and no-op tests (default --snapshot-every: no snapshot falls due in 300k rows). */
function journaled(name: string, workers: number): { args: string[]; dir: string; accounts: string; rejects: string } {
  const dir = join(tempDir(), name);
  const accounts = join(tempDir(), `${name}-accounts.csv`);
  const rejects = join(tempDir(), `${name}-rejects.csv`);
  return { args: ['--journal', dir, '--workers', String(workers), '--rejects', rejects, '-o', accounts, input.csv], dir, accounts, rejects };
}

describe('SIGINT and SIGTERM: the current batch is finished, a snapshot written, and the next run resumes', () => {
  for (const [signal, code, workers] of [
    ['SIGINT', 130, 0],
    ['SIGTERM', 143, 1],
  ] as const) {
    it(`${signal} (--workers ${workers}) exits ${code} with one 'stopped by ${signal}' line; the same command then resumes to identical output`, async () => {
      const run = journaled(`${signal.toLowerCase()}-w${workers}`, workers);
      const journalLog = join(run.dir, 'journal.log');
      // Signal once the run is under way: its journal holds a batch (the handler is installed by then).
      const stopped = await spawnPayrun(run.args, {
        control: (_child, send) => {
          const timer = setInterval(() => {
            if (existsSync(journalLog) && statSync(journalLog).size > 4096) send(signal);
          }, 1);
          return () => clearInterval(timer);
        },
      });
      expect(stopped.sent).toBe(signal);
      expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code, signal: null });
      const stop = /^payrun: stopped by (SIG\w+) after line (\d+) of [^\n]*tx\.csv; journal '[^\n]*' holds every row so far: run the same command to resume\n$/.exec(
        stopped.stderr,
      );
      expect(stop, stopped.stderr).not.toBeNull();
      expect(stop![1]).toBe(signal);
      const line = Number(stop![2]);
      expect(line).toBeGreaterThan(1);
      expect(line).toBeLessThan(ROWS + 1);
      // A stopped run writes no accounts, and leaves a snapshot (none was due before the stop).
      expect(existsSync(run.accounts)).toBe(false);
      expect(readdirSync(run.dir).filter((f) => /^snapshot-\d{12}\.bin$/.test(f))).toHaveLength(1);
      const verify = await spawnPayrun(['journal', 'verify', run.dir]);
      expect(verify.code, verify.stderr).toBe(0);
      expect(verify.stdout.toString()).toContain(`unfinished at line ${line}`);
      expect(verify.stdout.toString().trimEnd()).toMatch(/\nok$/);

      const resumed = await payrunOk(run.args);
      expect(resumed.stderr).toMatch(new RegExp(`^payrun: resuming [^\\n]*tx\\.csv at line ${line + 1} \\(journal '`));
      expect(resumed.stderr).not.toMatch(/torn|removed snapshot|damaged/);
      expect(readFileSync(run.accounts).equals(input.accounts)).toBe(true);
      expect(readFileSync(run.rejects).equals(input.rejects)).toBe(true);
      const after = await spawnPayrun(['journal', 'verify', run.dir]);
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout.toString().trimEnd()).toMatch(/\nok$/);
    });
  }
});

describe('a run of an input the journal has applied already', () => {
  it('is a no-op (journal untouched, exit 0, "already applied") that still writes identical accounts and rejects', async () => {
    const run = journaled('repeat', 0);
    const first = await payrunOk(run.args);
    expect(first.stderr).not.toContain('already applied');
    expect(readFileSync(run.accounts).equals(input.accounts)).toBe(true);
    const listing = readdirSync(run.dir).sort();
    const journalBytes = readFileSync(join(run.dir, 'journal.log'));

    for (let i = 0; i < 2; i++) {
      rmSync(run.accounts);
      writeFileSync(run.rejects, 'stale\n');
      const again = await payrunOk(run.args);
      expect(again.stderr).toMatch(/^payrun: [^\n]*tx\.csv is already applied in journal '[^\n]*' \(input 1, sha256 [0-9a-f]{12}, 300000 rows\); nothing to do\n$/);
      expect(readFileSync(run.accounts).equals(input.accounts)).toBe(true);
      expect(readFileSync(run.rejects).equals(input.rejects)).toBe(true);
      expect(readdirSync(run.dir).sort()).toEqual(listing);
      expect(readFileSync(join(run.dir, 'journal.log')).equals(journalBytes)).toBe(true);
    }

    // Accounts on stdout work the same.
    const toStdout = await payrunOk(run.args.filter((a, i, all) => a !== '-o' && all[i - 1] !== '-o'));
    expect(toStdout.stdout.equals(input.accounts)).toBe(true);
    expect(toStdout.stderr).toContain('already applied');
  });
});
