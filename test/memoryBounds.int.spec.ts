// Memory is bounded by the stored transactions and the longest line, not by the file: long
// lines reuse the engine's shared buffers, and a file's size reserves tables only up to a cap.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES } from '../src/io/wholeLines.js';
import { BIN, useBuiltBinary } from './support/builtBinary.js';

const tempDir = useBuiltBinary('payrun-memory-');

/** Runs the built command; its peak RSS (threads included) comes back on the last stderr line. */
function payrun(args: string[]): { status: number | null; stdout: string; stderr: string; maxRssMb: number } {
  const wrapper = join(tempDir(), 'measured.mjs');
  writeFileSync(
    wrapper,
    `process.on('exit', () => process.stderr.write('maxrss ' + process.resourceUsage().maxRSS + '\\n'));\nawait import(${JSON.stringify(pathToFileURL(BIN).href)});\n`,
  );
  const r = spawnSync(process.execPath, [wrapper, ...args], { cwd: tempDir(), input: '', timeout: 120_000, maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  const stderr = r.stderr.toString();
  const rss = /maxrss (\d+)\n$/.exec(stderr);
  return { status: r.status, stdout: r.stdout.toString(), stderr: stderr.replace(/maxrss \d+\n$/, ''), maxRssMb: rss ? Number(rss[1]) / 1024 : NaN };
}

describe('memory bounds', () => {
  it('1,000 lines of 300 KiB: the run succeeds with workers and its peak RSS stays far below the file size', () => {
    // Each long line used to get a new SharedArrayBuffer, freed too late: ~370 MB peak here (1.2 GB for 4,000 lines).
    const path = join(tempDir(), 'long-lines.csv');
    const fd = openSync(path, 'w');
    const pad = ' '.repeat(300 * 1024);
    writeSync(fd, 'type,client,tx,amount\n');
    for (let i = 0; i < 1_000; i++) writeSync(fd, `deposit,${i % 100},${i + 1},1.0${pad}\n`);
    closeSync(fd);
    const expected = ['client,available,held,total,locked', ...Array.from({ length: 100 }, (_, c) => `${c},10.0000,0.0000,10.0000,false`)].join('\n');
    try {
      for (const workers of ['1', '2']) {
        const r = payrun(['-q', '--workers', workers, path]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout.trim()).toBe(expected);
        expect(r.maxRssMb).toBeLessThan(200);
      }
    } finally {
      rmSync(path, { force: true });
    }
  }, 120_000);

  it('a sparse 70 GiB file (a header and rows, then NUL bytes) fails with the line-length error, not a table too large to allocate', () => {
    const path = join(tempDir(), 'sparse.csv');
    writeFileSync(path, 'type,client,tx,amount\ndeposit,1,1,1.0\ndeposit,2,2,2.0\n');
    truncateSync(path, 70 * 2 ** 30);
    try {
      for (const workers of ['0', '2']) {
        const r = payrun(['--workers', workers, path]);
        expect(r.stderr).toBe(`payrun: a line is longer than ${MAX_LINE_BYTES} bytes (${path}:4)\n`); // line 4: the NUL bytes after the three lines
        expect(r.status).toBe(1);
        expect(r.maxRssMb).toBeLessThan(400);
      }
    } finally {
      rmSync(path, { force: true });
    }
  }, 60_000);
});
