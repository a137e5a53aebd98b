// Memory of the journal's big paths is the tx table, not copies of the state: a 1-row run on a
// journal of ~1.8M stored transactions loads the snapshot straight into a table sized from its
// count (it used to hold the file, an aligned copy, a table, an exported copy and a second
// table: ~54 bytes a transaction), and `journal verify` compares each snapshot with the replayed
// ledger entry by entry (it used to sort both states into arrays of pairs: hundreds of bytes a
// transaction). Bounds are generous, in bytes per stored transaction over a 1-row run's RSS;
// no timing is asserted.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN, useBuiltBinary } from './support/builtBinary.js';

const tempDir = useBuiltBinary('payrun-journal-memory-');

/** Runs the built command; its peak RSS (threads included) in MB. */
function payrun(args: string[]): { status: number | null; stderr: string; rssMb: number } {
  const wrapper = join(tempDir(), 'measured.mjs');
  writeFileSync(
    wrapper,
    `process.on('exit', () => process.stderr.write('maxrss ' + process.resourceUsage().maxRSS + '\\n'));\nawait import(${JSON.stringify(pathToFileURL(BIN).href)});\n`,
  );
  const r = spawnSync(process.execPath, [wrapper, ...args], { cwd: tempDir(), stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000, maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  const stderr = r.stderr.toString();
  const rss = /maxrss (\d+)\n$/.exec(stderr);
  return { status: r.status, stderr: stderr.replace(/maxrss \d+\n$/, ''), rssMb: rss ? Number(rss[1]) / 1024 : NaN };
}

/** Stored transactions in the journal's newest snapshot (its header's f64 at byte 32). */
function storedTxs(dir: string): number {
  const newest = readdirSync(dir).filter((name) => name.startsWith('snapshot-')).sort().at(-1)!;
  const fd = openSync(join(dir, newest), 'r');
  const header = Buffer.alloc(48);
  readSync(fd, header, 0, 48, 0);
  closeSync(fd);
  return header.readDoubleLE(32);
}

describe('journal memory per stored transaction', () => {
  it('a 1-row run on a large journal holds about the table alone; verify one ledger, never two states', () => {
    const big = join(tempDir(), 'big.csv');
    const one = join(tempDir(), 'one.csv');
    const journal = join(tempDir(), 'ledger');
    writeFileSync(one, 'type,client,tx,amount\ndeposit,1,4000000001,1.0\n');
    expect(payrun(['generate', '-n', '2000000', '-c', '5000', '--seed', '7', big]).status).toBe(0);
    expect(payrun(['-q', '--journal', journal, '--snapshot-every', '700000', big]).status).toBe(0);
    const txs = storedTxs(journal);
    expect(txs).toBeGreaterThan(1_500_000);
    const baseline = payrun(['-q', '--workers', '0', one]).rssMb;

    const run = payrun(['-q', '--journal', journal, one]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    // The table is 16 bytes a slot, 64% to 80% full: 20 to 25 bytes a transaction (36 before).
    expect(((run.rssMb - baseline) * 2 ** 20) / txs).toBeLessThan(28);

    const verify = payrun(['journal', 'verify', journal]);
    expect(verify.status).toBe(0);
    // One ledger (~40 MB here) and the replay's garbage; sorting two states took ~240 bytes a transaction.
    expect(((verify.rssMb - baseline) * 2 ** 20) / txs).toBeLessThan(100);
  }, 900_000);
});
