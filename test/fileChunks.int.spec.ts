import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileChunks } from '../src/io/fileChunks.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'payrun-chunks-'));
  dirs.push(dir);
  return dir;
}

const lines = (count: number): string => Array.from({ length: count }, (_, i) => `deposit,${i % 50},${i + 1},${i}.5\n`).join('');

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of chunks) out.push(Buffer.from(chunk));
  return out;
}

describe('fileChunks', () => {
  it('gives a file back whole, in chunks of whole lines', async () => {
    const file = join(scratch(), 'tx.csv');
    const text = lines(5_000);
    writeFileSync(file, text);
    const fd = openSync(file, 'r');
    try {
      const chunks = await collect(fileChunks(fd, 4096));
      expect(Buffer.concat(chunks).toString()).toBe(text);
      expect(chunks.length).toBeGreaterThan(10);
      for (const chunk of chunks) expect(chunk[chunk.length - 1]).toBe(10);
    } finally {
      closeSync(fd);
    }
  });

  it('joins a pipe’s small reads into chunks at least half a buffer long (a real FIFO, written in 200-byte pieces)', async () => {
    const fifo = join(scratch(), 'in.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const text = lines(4_000);
    const writer = spawn(process.execPath, [
      '-e',
      `const fs = require('fs'); const fd = fs.openSync(${JSON.stringify(fifo)}, 'w'); const t = Buffer.from(${JSON.stringify(text)});
       for (let i = 0; i < t.length; i += 200) fs.writeSync(fd, t.subarray(i, i + 200)); fs.closeSync(fd);`,
    ]);
    const fd = openSync(fifo, 'r'); // blocks until the writer (another process) has opened it
    try {
      const chunks = await collect(fileChunks(fd, 16_384));
      expect(Buffer.concat(chunks).toString()).toBe(text);
      // Every chunk but the last holds at least half the buffer less one line: not a chunk per 200-byte write.
      for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThan(8_192 - 40);
    } finally {
      closeSync(fd);
      writer.kill();
    }
  });

  it('ending early waits for the read in flight (nothing reads the descriptor afterwards)', async () => {
    const file = join(scratch(), 'tx.csv');
    writeFileSync(file, lines(20_000));
    const fd = openSync(file, 'r');
    const chunks = fileChunks(fd, 4096);
    for await (const chunk of chunks) {
      expect(chunk.length).toBeGreaterThan(0);
      break; // return() runs the generator's finally, which awaits the read ahead
    }
    closeSync(fd); // would make a read still in flight fail with EBADF (an unhandled rejection)
    await new Promise((resolve) => setTimeout(resolve, 50));
  });
});
