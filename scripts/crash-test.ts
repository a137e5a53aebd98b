// `npm run test:crash`: the long crash test of `payrun --journal` — by default 200 SIGKILLs that
// land while the real binary runs, on a 1M-row generated file, for --workers 0, 1 and 2;
// each ends when a restarted run exits 0, and its accounts and rejects file must be byte-identical
// to an uninterrupted plain run, and `payrun journal verify` must say ok. Exit 1 otherwise.
//
// Environment: PAYRUN_CRASH_KILLS (200), PAYRUN_CRASH_ROWS (1000000), PAYRUN_CRASH_CLIENTS (5000),
// PAYRUN_CRASH_SEED (20240611), PAYRUN_CRASH_WORKERS (comma list, "0,1,2"), PAYRUN_CRASH_FSYNC
// (batch), PAYRUN_CRASH_SNAPSHOT_EVERY (50000), PAYRUN_CRASH_VERBOSE (1: log every attempt). Needs dist/ built (the npm script builds first).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashLoop, type CrashReport, prepareInput } from '../test/support/crashLoop.js';

function env(name: string, fallback: string): string {
  return process.env[name] ?? fallback;
}

const kills = Number(env('PAYRUN_CRASH_KILLS', '200'));
const rows = Number(env('PAYRUN_CRASH_ROWS', '1000000'));
const clients = Number(env('PAYRUN_CRASH_CLIENTS', '5000'));
const seed = Number(env('PAYRUN_CRASH_SEED', '20240611'));
const workers = env('PAYRUN_CRASH_WORKERS', '0,1,2').split(',').map(Number);
const fsync = env('PAYRUN_CRASH_FSYNC', 'batch') as 'always' | 'batch' | 'off';
const snapshotEvery = Number(env('PAYRUN_CRASH_SNAPSHOT_EVERY', '50000'));

const started = performance.now();
const dir = mkdtempSync(join(tmpdir(), 'payrun-crash-'));
let failed = false;
try {
  console.log(`generating ${rows} rows over ${clients} clients (seed ${seed}) and the plain reference run...`);
  const input = await prepareInput(dir, rows, clients, seed);
  const reports: CrashReport[] = [];
  for (const [i, n] of workers.entries()) {
    console.log(`\n--workers ${n}, --fsync ${fsync}, --snapshot-every ${snapshotEvery}: ${kills} kills...`);
    const name = `workers-${n}`;
    try {
      reports.push(
        await crashLoop(input, {
          name,
          workers: n,
          fsync,
          snapshotEvery,
          kills,
          seed: seed + 1000 * (i + 1),
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
  console.log('');
  for (const r of reports) {
    const verified = r.verify.code === 0 && r.verify.stdout.trimEnd().endsWith('\nok');
    const ok = r.landed >= kills && r.uninterruptedIdentical && r.accountsIdentical && r.rejectsIdentical && verified && r.unexpectedStderr.length === 0;
    if (!ok) failed = true;
    console.log(`${ok ? 'PASS' : 'FAIL'} ${r.name}: ${r.landed}/${kills} kills landed, accounts ${r.accountsIdentical ? 'identical' : 'DIFFERENT'}, rejects ${r.rejectsIdentical ? 'identical' : 'DIFFERENT'}, verify ${r.verify.code === 0 ? 'ok' : `exit ${r.verify.code}: ${r.verify.stderr.split('\n').slice(-6).join(' | ')}`}, ${(r.ms / 1000).toFixed(1)} s`);
    if (r.strayFiles.length > 0) console.log(`  note: stray files left: ${r.strayFiles.join(', ')}`);
  }
} catch (error) {
  failed = true;
  console.error(error instanceof Error ? error.message : String(error));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s: ${failed ? 'FAILED' : 'passed'}`);
process.exitCode = failed ? 1 : 0;
