// A FIFO with no writer, or a silent pipe, through the real binary under a pseudo-terminal
// (`script` from util-linux): a person at a terminal is told once that payrun waits for input;
// a script (stderr not a terminal) or --quiet is told nothing.
import { spawn, spawnSync } from 'node:child_process';
import { openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, useBuiltBinary } from './support/builtBinary.js';

const SCRIPT = spawnSync('script', ['--version']).status === 0 && spawnSync('mkfifo', ['--version']).status === 0;
const CSV = 'type,client,tx,amount\ndeposit,1,1,2.5\ndeposit,2,2,1\n';
const ACCOUNTS = 'client,available,held,total,locked\n1,2.5000,0.0000,2.5000,false\n2,1.0000,0.0000,1.0000,false\n';
const WRITER_AFTER_MS = 2500;

const tempDir = useBuiltBinary('payrun-waiting-');

/** Runs `command` (a shell line) under a pseudo-terminal, or without one; a writer fills `fifo` after a while. Returns what the terminal (or stderr) showed. */
async function runWaiting(command: string, fifo: string, terminal: boolean): Promise<{ code: number | null; shown: string }> {
  const child = terminal
    ? spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let shown = '';
  child.stdout.on('data', (d: Buffer) => (shown += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (shown += d.toString('utf8')));
  const writer = setTimeout(() => {
    const fd = openSync(fifo, 'w');
    writeSync(fd, CSV);
    closeSync(fd);
  }, WRITER_AFTER_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(writer);
  return { code, shown };
}

describe.skipIf(!SCRIPT)('waiting for input (script and mkfifo from util-linux / coreutils)', () => {
  let n = 0;
  const fifo = (): string => {
    const path = join(tempDir(), `in-${n++}.fifo`);
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    return path;
  };

  it('a FIFO path with no writer yet: one line on the terminal, then the run as usual', async () => {
    const path = fifo();
    const out = join(tempDir(), 'fifo-accounts.csv');
    const { code, shown } = await runWaiting(`${process.execPath} ${BIN} ${path} -o ${out}`, path, true);
    expect(code).toBe(0);
    expect(shown.split(`payrun: waiting for input on ${path}…`).length - 1).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe(ACCOUNTS);
  }, 30_000);

  it('payrun stream on a silent pipe: one line on the terminal, then its events', async () => {
    const path = fifo();
    const { code, shown } = await runWaiting(`cat ${path} | ${process.execPath} ${BIN} stream`, path, true);
    expect(code).toBe(0);
    expect(shown.split('payrun: waiting for input on stdin…').length - 1).toBe(1);
    expect(shown).toContain('"line":3,"result":"applied"');
  }, 30_000);

  it('not a terminal, or --quiet: nothing said', async () => {
    const plain = fifo();
    const quiet = fifo();
    const out = join(tempDir(), 'quiet-accounts.csv');
    writeFileSync(out, '');
    const [a, b] = await Promise.all([
      runWaiting(`${process.execPath} ${BIN} ${plain}`, plain, false),
      runWaiting(`${process.execPath} ${BIN} -q ${quiet} -o ${out}`, quiet, true),
    ]);
    expect(a.code).toBe(0);
    expect(a.shown).not.toContain('waiting for input');
    expect(b.code).toBe(0);
    expect(b.shown).not.toContain('waiting for input');
    expect(readFileSync(out, 'utf8')).toBe(ACCOUNTS);
  }, 30_000);
});
