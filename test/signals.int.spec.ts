// A stop signal at any moment of a journaled run, through the real binary: one line and a journal
// that resumes to the same accounts, or a complete run with exit 0; never a silent death.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, useBuiltBinary } from './support/builtBinary.js';

interface Stopped {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runAndSignal(args: string[], afterMs: number, signal: NodeJS.Signals): Promise<Stopped> {
  return new Promise((resolve) => {
    const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill(signal), afterMs);
    child.on('close', (status, sig) => {
      clearTimeout(timer);
      resolve({ status, signal: sig, stdout, stderr });
    });
  });
}

describe('SIGINT/SIGTERM at any moment of a journaled run', () => {
  const tmp = useBuiltBinary('payrun-signals-');
  let input = '';
  let expected = '';
  let wallMs = 0;
  beforeAll(() => {
    input = join(tmp(), 'tx.csv');
    expect(spawnSync(BIN, ['generate', '-q', '-n', '600000', '-c', '3000', '--seed', '11', input]).status).toBe(0);
    const started = performance.now();
    const plain = spawnSync(BIN, ['-q', '--journal', join(tmp(), 'timing'), input], { encoding: 'utf8', maxBuffer: 1 << 26 });
    wallMs = performance.now() - started;
    expect(plain.status).toBe(0);
    expected = plain.stdout;
  });

  it('from start-up to exit: one line and exit 130/143 (or a full run, exit 0); the journal resumes to the same accounts', { timeout: 240_000 }, async () => {
    const moments = Array.from({ length: 14 }, (_, i) => 60 + Math.round(((wallMs + 150) * i) / 13));
    let stoppedWithLine = 0;
    for (const [i, ms] of moments.entries()) {
      const dir = join(tmp(), `ledger-${i}`);
      const signal: NodeJS.Signals = i % 2 === 0 ? 'SIGTERM' : 'SIGINT';
      const r = await runAndSignal(['-q', '--journal', dir, input], ms, signal);
      const what = `${signal} at ${ms} ms: exit ${r.status} ${r.signal ?? ''} ${r.stderr}`;
      if (r.signal !== null) {
        // A signal may kill it outright only while Node starts (nothing was begun) or while Node
        // tears down after payrun's code has finished (Node resets signal handlers at exit): then
        // every account was printed already, and the journal is whole.
        if (existsSync(dir)) {
          expect(r.stdout, `${what}: killed after payrun's code began, so it must have finished`).toBe(expected);
          const again = spawnSync(BIN, ['-q', '--journal', dir, input], { encoding: 'utf8', maxBuffer: 1 << 26 });
          expect(again.status, `${what} / again: ${again.stderr}`).toBe(0);
          expect(again.stdout, what).toBe(expected);
        }
        continue;
      }
      if (r.status === 0) {
        expect(r.stdout, what).toBe(expected);
        continue;
      }
      expect(r.status, what).toBe(signal === 'SIGINT' ? 130 : 143);
      stoppedWithLine++;
      expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
      expect(r.stderr, what).toMatch(new RegExp(`^payrun: stopped by ${signal}`));
      const again = spawnSync(BIN, ['-q', '--journal', dir, input], { encoding: 'utf8', maxBuffer: 1 << 26 });
      expect(again.status, `${what} / resume: ${again.stderr}`).toBe(0);
      expect(again.stdout, what).toBe(expected);
    }
    expect(readFileSync(input).length).toBeGreaterThan(0);
    expect(stoppedWithLine, 'most moments fall inside the run').toBeGreaterThanOrEqual(4);
  });
});
