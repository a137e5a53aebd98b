// Crash testing of `payrun --journal`: SIGKILL the real built binary at many seeded moments,
// restart the same command each time, and check that the final output is byte-identical to an
// uninterrupted plain run. Used by test/journalCrash.int.spec.ts (short) and
// scripts/crash-test.ts (`npm run test:crash`, long). No vitest imports: the script runs it too.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'payrun');
export const MAIN_JS = join(ROOT, 'dist', 'cli', 'main.js');

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PayrunExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** From spawn to exit. */
  ms: number;
  /** The signal this helper sent (if any) and whether the process was still running then. */
  sent?: NodeJS.Signals;
}

export interface SpawnOptions {
  cwd?: string;
  /** A hung run is killed after this and reported as an error. */
  timeoutMs?: number;
  /**
   * Called once with the child just spawned; it may send a signal through `send` (sent at most
   * once, only while the child is running). Its cleanup (if returned) runs when the child exits.
   */
  control?: (child: ChildProcess, send: (signal: NodeJS.Signals) => void) => (() => void) | void;
}

/** Runs `node bin/payrun ...args` as a real child process (process.execPath, not a shell). */
export function spawnPayrun(args: string[], options: SpawnOptions = {}): Promise<PayrunExit> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    let sent: NodeJS.Signals | undefined;
    let timedOut = false;
    const send = (signal: NodeJS.Signals): void => {
      if (sent !== undefined || child.exitCode !== null || child.signalCode !== null) return;
      sent = signal;
      child.kill(signal);
    };
    const cleanup = options.control?.(child, send);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      cleanup?.();
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      cleanup?.();
      const exit: PayrunExit = { code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), ms: performance.now() - started, sent };
      if (timedOut) reject(new Error(`payrun ${args.join(' ')} hung (killed after ${options.timeoutMs ?? 120_000} ms); stderr: ${exit.stderr}`));
      else resolve(exit);
    });
  });
}

/** Runs payrun and insists on exit 0 (the error carries its stderr). */
export async function payrunOk(args: string[], options: SpawnOptions = {}): Promise<PayrunExit> {
  const exit = await spawnPayrun(args, options);
  if (exit.code !== 0) throw new Error(`payrun ${args.join(' ')} exited ${exit.code ?? exit.signal}: ${exit.stderr}`);
  return exit;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** Snapshot temp files (a snapshot being written, or one a kill cut short) and their mtimes. */
function snapshotTemps(dir: string): Map<string, number> {
  const temps = new Map<string, number>();
  try {
    for (const f of readdirSync(dir)) {
      if (!/^\.snapshot-\d+\.bin\.tmp$/.test(f)) continue;
      try {
        temps.set(f, statSync(join(dir, f)).mtimeMs);
      } catch {
        // renamed meanwhile
      }
    }
  } catch {
    // no directory yet
  }
  return temps;
}

/** Whether `now` holds a temp file not in `then`, or one written since. */
function newTemp(then: Map<string, number>, now: Map<string, number>): boolean {
  for (const [f, mtime] of now) if (then.get(f) !== mtime) return true;
  return false;
}

function snapshotFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => /^snapshot-\d{12}\.bin$/.test(f));
  } catch {
    return [];
  }
}

/** The test input and what an uninterrupted plain run makes of it. */
export interface CrashInput {
  dir: string;
  csv: string;
  rows: number;
  accounts: Buffer;
  rejects: Buffer;
}

/** Generates the input (seeded) in dir and computes the reference with a plain run (no journal). */
export async function prepareInput(dir: string, rows: number, clients: number, seed: number): Promise<CrashInput> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: build first (npm run build)`);
  const csv = join(dir, 'tx.csv');
  await payrunOk(['generate', '-n', String(rows), '-c', String(clients), '--seed', String(seed), '-q', csv]);
  const accountsFile = join(dir, 'reference-accounts.csv');
  const rejectsFile = join(dir, 'reference-rejects.csv');
  await payrunOk([csv, '-q', '--rejects', rejectsFile, '-o', accountsFile]);
  return { dir, csv, rows, accounts: readFileSync(accountsFile), rejects: readFileSync(rejectsFile) };
}

export interface CrashConfig {
  /** A name for the scenario, used for its files. */
  name: string;
  workers: number;
  fsync: 'always' | 'batch' | 'off';
  snapshotEvery: number;
  /** Accounts to -o FILE (default) or to stdout. */
  stdout?: boolean;
  /** SIGKILLs that must land while the process runs. */
  kills: number;
  seed: number;
  /** Safety limit on restarts (default 4·kills + 40); past it the run is let finish. */
  maxAttempts?: number;
  log?: (line: string) => void;
  /** Also log every attempt. */
  verbose?: boolean;
}

/** Where a SIGKILL landed, judged from the directory after it and the next run's stderr. */
export type KillPhase =
  | 'startup' // before the journal existed
  | 'journal-creation' // the journal holds no input yet
  | 'no-new-record' // the restarted run had appended nothing yet (startup, recovery, hashing, rejects replay, its first batch)
  | 'mid-run' // between records
  | 'torn-record' // mid-write of a record (the next run cut off a torn tail)
  | 'snapshot' // during a snapshot (its temp file was left, or the next run removed an unconfirmed one)
  | 'after-end'; // after the input was recorded as applied (while writing output)

export type Trigger = 'time' | 'progress' | 'snapshot' | 'end';

export interface CrashReport {
  name: string;
  attempts: number;
  landed: number;
  phases: Record<KillPhase, number>;
  triggers: Record<Trigger, number>;
  /** Lines the resumed runs said they resumed at (1-based, as printed). */
  resumedAt: number[];
  /** For each kill that landed: how far the journal had grown, as a fraction of its full size (0..1). */
  landedAt: number[];
  /** The calibration run (journaled, never killed) gave the reference output too. */
  uninterruptedIdentical: boolean;
  accountsIdentical: boolean;
  rejectsIdentical: boolean;
  verify: { code: number | null; stdout: string; stderr: string };
  /** Kills after which journal.log existed but was empty (killed between creating it and writing its start record). */
  leftEmptyJournal: number;
  /** Files left in the journal or output directory that a clean run does not leave. */
  strayFiles: string[];
  /** Lines of stderr from any run that were not expected (neither resume, warning nor summary). */
  unexpectedStderr: string[];
  /** Calibration: `payrun --version`, a no-op rerun, one uninterrupted journaled run, its final journal size. */
  calibration: { startupMs: number; noopMs: number; fullRunMs: number; journalBytes: number; batchBytes: number; batchMs: number };
  ms: number;
}

const EXPECTED_STDERR = [
  /^payrun: resuming /,
  /^payrun: journal '.*': cut off a torn last record/,
  /^payrun: journal '.*': removed snapshot .*, which a crash left unconfirmed/,
  /^payrun: journal '.*': removed \.snapshot-\d{12}\.bin\.tmp, a snapshot a crash left half-written/,
  /^payrun: .* is already applied in journal /,
  /^payrun: [\d,]+ rows? read/,
  /^ {2}rejected by reason: /,
  /^ {2}[\d,]+ accounts?, /,
];

/**
 * SIGKILLs `payrun --journal DIR ... tx.csv` over and over, restarting the same command each
 * time, until a run exits 0; then compares its accounts and the rejects file with the reference
 * byte for byte and runs `payrun journal verify DIR`.
 *
 * Each attempt's kill is chosen by a seeded PRNG from four kinds, so kills land all over a run
 * (calibrated first by one uninterrupted journaled run, watched as its journal grows):
 * - time: a delay from spawn below the shortest time a restarted run took to append its first
 *   record (node's startup, journal creation on the first runs, recovery, hashing the input,
 *   replaying the rejects, the first batch's work);
 * - progress: once journal.log has grown past a random target between where it is and a few
 *   batches short of its full size (spread so the kills still needed fit in the rest), plus up to
 *   one batch's time (so the kill lands anywhere in a batch's work or a snapshot);
 * - snapshot: when the k-th snapshot temp file from now appears (k = 1..3), plus 0–2 ms;
 * - end (only once enough kills landed): when journal.log reaches its full size, plus 0–4 ms.
 * While kills are still needed no trigger is one the process can outrun, so the count is reliable.
 * A process that exits 0 before its kill ends the loop.
 */
export async function crashLoop(input: CrashInput, config: CrashConfig): Promise<CrashReport> {
  const started = performance.now();
  const log = config.log ?? (() => undefined);
  const verbose = config.verbose ? log : undefined;
  const work = join(input.dir, config.name);
  const journal = join(work, 'journal');
  const accountsFile = join(work, 'accounts.csv');
  const rejectsFile = join(work, 'rejects.csv');
  const args = (dir: string, accounts: string, rejects: string): string[] => [
    '--journal',
    dir,
    '--fsync',
    config.fsync,
    '--snapshot-every',
    String(config.snapshotEvery),
    '--workers',
    String(config.workers),
    '--rejects',
    rejects,
    ...(config.stdout ? [] : ['-o', accounts]),
    input.csv,
  ];

  // Calibration: node's startup (`--version`); one uninterrupted journaled run (its time and the
  // journal's full size); and a repeat of it (a no-op: recovery, hashing, rejects replay, output),
  // the least time any restarted run takes.
  let startupMs = Infinity;
  for (let i = 0; i < 3; i++) startupMs = Math.min(startupMs, (await payrunOk(['--version'])).ms);
  const scratch = join(work, 'calibration');
  const scratchArgs = args(join(scratch, 'journal'), join(scratch, 'a.csv'), join(scratch, 'r.csv'));
  // Watch the journal grow: the largest step (one batch record) and the time between batches.
  let maxStep = 0;
  const grown: number[] = [];
  const full = await payrunOk(scratchArgs, {
    control: () => {
      let size = 0;
      const timer = setInterval(() => {
        const now = sizeOf(join(scratch, 'journal', 'journal.log'));
        if (now > size) {
          maxStep = Math.max(maxStep, now - size);
          grown.push(performance.now());
        }
        size = Math.max(size, now);
      }, 1);
      return () => clearInterval(timer);
    },
  });
  const journalBytes = sizeOf(join(scratch, 'journal', 'journal.log'));
  const batchMs = grown.length > 1 ? (grown[grown.length - 1]! - grown[0]!) / (grown.length - 1) : full.ms / 2;
  const uninterruptedIdentical =
    (config.stdout ? full.stdout : readFileSync(join(scratch, 'a.csv'))).equals(input.accounts) && readFileSync(join(scratch, 'r.csv')).equals(input.rejects);
  let noopMs = Infinity;
  for (let i = 0; i < 2; i++) noopMs = Math.min(noopMs, (await payrunOk(scratchArgs)).ms);
  rmSync(scratch, { recursive: true, force: true });
  /** Journal bytes between two snapshots. */
  const snapshotBytes = (journalBytes * config.snapshotEvery) / input.rows;
  /** Progress kills aim below this journal size: the process has at least a few batches still to do. */
  const progressCap = journalBytes - 3 * maxStep;
  const calibration = { startupMs, noopMs, fullRunMs: full.ms, journalBytes, batchBytes: maxStep, batchMs };
  log(
    `${config.name}: calibration: startup ${startupMs.toFixed(0)} ms, no-op rerun ${noopMs.toFixed(0)} ms, uninterrupted journaled run ${full.ms.toFixed(0)} ms, journal ${journalBytes} bytes, batches up to ${maxStep} bytes ~${batchMs.toFixed(0)} ms apart`,
  );

  const rng = mulberry32(config.seed);
  const journalLog = join(journal, 'journal.log');
  const phases: Record<KillPhase, number> = { startup: 0, 'journal-creation': 0, 'no-new-record': 0, 'mid-run': 0, 'torn-record': 0, snapshot: 0, 'after-end': 0 };
  const triggers: Record<Trigger, number> = { time: 0, progress: 0, snapshot: 0, end: 0 };
  const resumedAt: number[] = [];
  const landedAt: number[] = [];
  const unexpectedStderr: string[] = [];
  const maxAttempts = config.maxAttempts ?? 4 * config.kills + 40;
  let landed = 0;
  let attempts = 0;
  let leftEmptyJournal = 0;
  /** The least time from spawn to the first new record of a restarted run seen so far. */
  let firstRecordMs = Infinity;
  /** A kill just landed whose phase waits for the next run's stderr; the trigger that sent it. */
  let judging: { phase: KillPhase; trigger: Trigger } | undefined;
  let last: PayrunExit | undefined;

  for (;;) {
    attempts++;
    const before = sizeOf(journalLog);
    const tempsBefore = snapshotTemps(journal);
    const needed = config.kills - landed;
    const letFinish = attempts > maxAttempts;
    // What kills this attempt (chosen before spawning, from the seeded PRNG only). While kills are
    // still needed, every trigger is one the process cannot outrun: a delay below the shortest
    // restarted run, a journal size a few batches short of its full size, a snapshot still to come.
    const at = Math.max(0, before);
    const left = journalBytes - at;
    let trigger: Trigger;
    const pick = rng();
    if (before < 0 && attempts <= 3) trigger = 'time';
    else if (needed > 0) trigger = pick < 0.25 ? 'time' : pick < 0.45 ? 'snapshot' : 'progress';
    else trigger = pick < 0.5 ? 'end' : 'progress';
    const nthSnapshot = 1 + Math.floor(rng() * 3);
    if (trigger === 'snapshot' && at + (nthSnapshot + 0.5) * snapshotBytes > progressCap) trigger = 'progress';
    if (trigger === 'progress' && needed > 0 && at + maxStep > progressCap) trigger = 'time';
    // A restarted run lives at least until its first new record (once seen) or about as long as a no-op rerun.
    const lifeMs = Number.isFinite(firstRecordMs) ? 0.95 * firstRecordMs : 0.8 * noopMs;
    const delayMs = before < 0 ? startupMs * (0.7 + 0.8 * rng()) : rng() * (needed > 0 ? lifeMs : 2 * noopMs);
    /** After a progress trigger: anywhere in the next batch's work (or the snapshot after it). */
    const extraMs = rng() * (trigger === 'end' ? 4 : trigger === 'snapshot' ? 2 : batchMs);
    const span = Math.max(0, progressCap - maxStep - at);
    const target = needed > 0 ? at + 1 + span * Math.min(0.9, rng() * (2 / (needed + 1))) : at + rng() * left;
    verbose?.(
      `attempt ${attempts}: journal at ${((100 * at) / journalBytes).toFixed(1)}%, trigger ${trigger}${
        trigger === 'time' ? ` ${delayMs.toFixed(0)} ms` : trigger === 'snapshot' ? ` #${nthSnapshot}` : trigger === 'progress' ? ` at ${((100 * target) / journalBytes).toFixed(1)}%` : ''
      }`,
    );

    last = await spawnPayrun(args(journal, accountsFile, rejectsFile), {
      timeoutMs: 20 * full.ms + 30_000,
      control: (_child, send) => {
        const spawned = performance.now();
        const timers: NodeJS.Timeout[] = [];
        const fire = (extra: number): void => {
          if (extra <= 0) send('SIGKILL');
          else timers.push(setTimeout(() => send('SIGKILL'), extra));
        };
        if (trigger === 'time' && !letFinish) timers.push(setTimeout(() => send('SIGKILL'), delayMs));
        let seen = tempsBefore;
        let snapshotsSeen = 0;
        let fired = letFinish || trigger === 'time';
        let grew = false;
        timers.push(
          setInterval(() => {
            const size = sizeOf(journalLog);
            if (!grew && before > 0 && size > before) {
              // The first record this (restarted) run appends: everything before it is startup,
              // recovery and its first batch's work, which a time kill may hit without progress.
              grew = true;
              firstRecordMs = Math.min(firstRecordMs, performance.now() - spawned);
            }
            if (fired) return;
            if (trigger === 'snapshot') {
              const temps = snapshotTemps(journal);
              if (newTemp(seen, temps)) snapshotsSeen++;
              seen = temps;
              // No snapshot seen in time (polling can miss one): kill before the end anyway.
              if (snapshotsSeen < nthSnapshot && size < progressCap) return;
            } else if (size < (trigger === 'end' ? journalBytes : target) || size <= before) {
              return;
            }
            fired = true;
            fire(extraMs);
          }, 1),
        );
        return () => timers.forEach((t) => clearTimeout(t));
      },
    });

    const stderrLines = last.stderr.split('\n').filter((l) => l !== '');
    for (const line of stderrLines) if (!EXPECTED_STDERR.some((re) => re.test(line))) unexpectedStderr.push(`attempt ${attempts}: ${line}`);
    if (judging) {
      // This run's stderr says what the previous kill left behind.
      let { phase } = judging;
      if (/already applied/.test(last.stderr)) phase = 'after-end';
      else if (/removed snapshot .* unconfirmed|removed \.snapshot-.* half-written/.test(last.stderr)) phase = 'snapshot';
      else if (/cut off a torn last record/.test(last.stderr) && phase !== 'snapshot') phase = 'torn-record';
      phases[phase]++;
      judging = undefined;
    }
    const resumed = /payrun: resuming .* at line (\d+)/.exec(last.stderr);
    if (resumed) resumedAt.push(Number(resumed[1]));

    if (last.signal === 'SIGKILL' && last.sent === 'SIGKILL') {
      landed++;
      triggers[trigger]++;
      const after = sizeOf(journalLog);
      landedAt.push(Math.min(1, Math.max(0, after) / journalBytes));
      let phase: KillPhase;
      if (after === 0) leftEmptyJournal++;
      if (after < 0) phase = 'startup';
      else if (after < 256) phase = 'journal-creation';
      else if (newTemp(tempsBefore, snapshotTemps(journal))) phase = 'snapshot';
      else if (after <= before) phase = 'no-new-record';
      else phase = 'mid-run';
      judging = { phase, trigger };
      verbose?.(`  killed after ${last.ms.toFixed(0)} ms (${phase}), journal at ${((100 * Math.max(0, after)) / journalBytes).toFixed(1)}%`);
      continue;
    }
    verbose?.(`  exited ${last.code ?? last.signal} after ${last.ms.toFixed(0)} ms`);
    if (last.code === 0) break;
    throw new Error(`${config.name}: attempt ${attempts} ended with ${last.code ?? last.signal} (kill sent: ${last.sent ?? 'none'}): ${last.stderr}`);
  }

  const accounts = config.stdout ? last.stdout : readFileSync(accountsFile);
  const rejects = readFileSync(rejectsFile);
  const verified = await spawnPayrun(['journal', 'verify', journal]);
  const stray = [
    ...readdirSync(journal).filter((f) => f !== 'journal.log' && !snapshotFiles(journal).includes(f)),
    ...readdirSync(work).filter((f) => !['journal', 'accounts.csv', 'rejects.csv'].includes(f)),
  ];
  const report: CrashReport = {
    name: config.name,
    attempts,
    landed,
    phases,
    triggers,
    resumedAt,
    landedAt,
    uninterruptedIdentical,
    accountsIdentical: accounts.equals(input.accounts),
    rejectsIdentical: rejects.equals(input.rejects),
    verify: { code: verified.code, stdout: verified.stdout.toString('utf8'), stderr: verified.stderr },
    leftEmptyJournal,
    strayFiles: stray,
    unexpectedStderr,
    calibration,
    ms: performance.now() - started,
  };
  log(formatReport(report));
  return report;
}

export function formatReport(r: CrashReport): string {
  const phases = Object.entries(r.phases)
    .filter(([, n]) => n > 0)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  const triggers = Object.entries(r.triggers)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  return [
    `${r.name}: ${r.landed} kills landed in ${r.attempts} runs, ${(r.ms / 1000).toFixed(1)} s`,
    `  landed: ${phases}`,
    `  triggers: ${triggers}`,
    `  journal progress at the kills (tenths of the full journal): ${progressHistogram(r.landedAt).join(' ')}`,
    `  resumed ${r.resumedAt.length} times, lines ${r.resumedAt.length ? `${Math.min(...r.resumedAt)}..${Math.max(...r.resumedAt)}` : '-'}`,
    `  accounts ${r.accountsIdentical ? 'identical' : 'DIFFERENT'}, rejects ${r.rejectsIdentical ? 'identical' : 'DIFFERENT'}, journal verify exit ${r.verify.code} (${r.verify.stdout.trimEnd().split('\n').pop() ?? ''})`,
    ...(r.leftEmptyJournal ? [`  kills that left journal.log empty (before its start record): ${r.leftEmptyJournal}`] : []),
    ...(r.strayFiles.length ? [`  stray files: ${r.strayFiles.join(', ')}`] : []),
    ...(r.unexpectedStderr.length ? [`  unexpected stderr: ${r.unexpectedStderr.slice(0, 5).join(' | ')}`] : []),
  ].join('\n');
}

/** How many kills landed in each tenth of the journal's growth (0–10%, …, 90–100%). */
export function progressHistogram(landedAt: number[]): number[] {
  const bins = new Array<number>(10).fill(0);
  for (const at of landedAt) bins[Math.min(9, Math.floor(at * 10))]!++;
  return bins;
}
