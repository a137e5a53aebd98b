// `npm run test:crash`: the long crash soak of `payrun --journal`. For each --workers value it
// runs ROUNDS crash loops of KILLS SIGKILLs each (default 3 × 14 × 24 = 1,008 kills) on a
// generated file, while a CPU hog runs beside it (a busy loop per core, so kills also land on a
// descheduled payrun). Every round restarts the killed command until a run exits 0, then compares
// its accounts AND its rejects file byte for byte with an uninterrupted plain run and runs
// `payrun journal verify`; a histogram shows where in the run the kills landed. Exit 1 otherwise.
//
// Environment: PAYRUN_CRASH_KILLS (24 per round: about the batches a run has, so the kills that
// wait for the journal to grow spread over the whole run), PAYRUN_CRASH_ROUNDS (14), PAYRUN_CRASH_ROWS
// (1000000), PAYRUN_CRASH_CLIENTS (5000), PAYRUN_CRASH_SEED (20240611), PAYRUN_CRASH_WORKERS
// ("0,1,2"), PAYRUN_CRASH_FSYNC (batch), PAYRUN_CRASH_SNAPSHOT_EVERY (50000), PAYRUN_CRASH_HOG
// (busy loops beside it; default the core count, 0 for none), PAYRUN_CRASH_VERBOSE (1: every
// attempt). Needs dist/ built (the npm script builds first).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashLoop, type CrashReport, prepareInput, progressHistogram } from '../test/support/crashLoop.js';

function env(name: string, fallback: string): string {
  return process.env[name] ?? fallback;
}

const kills = Number(env('PAYRUN_CRASH_KILLS', '24'));
const rounds = Number(env('PAYRUN_CRASH_ROUNDS', '14'));
const rows = Number(env('PAYRUN_CRASH_ROWS', '1000000'));
const clients = Number(env('PAYRUN_CRASH_CLIENTS', '5000'));
const seed = Number(env('PAYRUN_CRASH_SEED', '20240611'));
const workers = env('PAYRUN_CRASH_WORKERS', '0,1,2').split(',').map(Number);
const fsync = env('PAYRUN_CRASH_FSYNC', 'batch') as 'always' | 'batch' | 'off';
const snapshotEvery = Number(env('PAYRUN_CRASH_SNAPSHOT_EVERY', '50000'));
const hogs = Number(env('PAYRUN_CRASH_HOG', String(availableParallelism())));

const started = performance.now();
const dir = mkdtempSync(join(tmpdir(), 'payrun-crash-'));
const hogProcesses: ChildProcess[] = [];
let failed = false;
try {
  console.log(`generating ${rows} rows over ${clients} clients (seed ${seed}) and the plain reference run...`);
  const input = await prepareInput(dir, rows, clients, seed);
  for (let i = 0; i < hogs; i++) hogProcesses.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  if (hogs > 0) console.log(`${hogs} busy loop(s) running beside payrun`);
  const reports: CrashReport[] = [];
  for (const [i, n] of workers.entries()) {
    for (let round = 0; round < rounds; round++) {
      const name = `workers-${n}-round-${round + 1}`;
      console.log(`\n${name}: --workers ${n}, --fsync ${fsync}, --snapshot-every ${snapshotEvery}: ${kills} kills...`);
      try {
        reports.push(
          await crashLoop(input, {
            name,
            workers: n,
            fsync,
            snapshotEvery,
            kills,
            stdout: round % 2 === 1, // accounts to stdout in every other round, to -o FILE in the rest
            seed: seed + 1000 * (i + 1) + round,
            log: (line) => console.log(line),
            verbose: process.env.PAYRUN_CRASH_VERBOSE === '1',
          }),
        );
      } catch (error) {
        failed = true;
        console.log(`FAIL ${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
  console.log('');
  let landed = 0;
  const everywhere: number[] = [];
  for (const r of reports) {
    const verified = r.verify.code === 0 && r.verify.stdout.trimEnd().endsWith('\nok');
    const ok = r.landed >= kills && r.uninterruptedIdentical && r.accountsIdentical && r.rejectsIdentical && verified && r.unexpectedStderr.length === 0;
    if (!ok) failed = true;
    landed += r.landed;
    everywhere.push(...r.landedAt);
    console.log(`${ok ? 'PASS' : 'FAIL'} ${r.name}: ${r.landed}/${kills} kills landed, accounts ${r.accountsIdentical ? 'identical' : 'DIFFERENT'}, rejects ${r.rejectsIdentical ? 'identical' : 'DIFFERENT'}, verify ${r.verify.code === 0 ? 'ok' : `exit ${r.verify.code}: ${r.verify.stderr.split('\n').slice(-6).join(' | ')}`}, ${(r.ms / 1000).toFixed(1)} s`);
    if (r.strayFiles.length > 0) console.log(`  note: stray files left: ${r.strayFiles.join(', ')}`);
    if (r.unexpectedStderr.length > 0) console.log(`  unexpected stderr: ${r.unexpectedStderr.slice(0, 3).join(' | ')}`);
  }
  if (reports.length < workers.length * rounds) failed = true;
  console.log(`\n${landed} kills landed in ${reports.length} rounds; journal progress at the kills, by tenth: ${progressHistogram(everywhere).join(' ')}`);
} catch (error) {
  failed = true;
  console.error(error instanceof Error ? error.message : String(error));
} finally {
  for (const hog of hogProcesses) hog.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s: ${failed ? 'FAILED' : 'passed'}`);
process.exitCode = failed ? 1 : 0;
