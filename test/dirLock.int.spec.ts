// The journal lock across real processes: one owner at a time, even when several runs find one stale lock at once.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT, useBuiltBinary } from './support/builtBinary.js';

const LOCK_JS = pathToFileURL(join(ROOT, 'dist', 'journal', 'dirLock.js')).href;

/** A child that takes the lock at a given moment, holds it for holdMs, and says what happened. */
function contender(dir: string, startAt: number, holdMs: number, breakDelayMs: number): Promise<string> {
  const script = `
    import { DirLock } from ${JSON.stringify(LOCK_JS)};
    while (Date.now() < ${startAt}) {}
    try {
      const lock = DirLock.take(${JSON.stringify(dir)}, { breakDelayMs: ${breakDelayMs} });
      console.log('won');
      setTimeout(() => lock.release(), ${holdMs});
    } catch (error) {
      console.log(error.message);
    }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out.trim()));
  });
}

/** A pid that no process has any more. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

describe('the journal lock', () => {
  const tmp = useBuiltBinary('payrun-dirlock-');
  let n = 0;
  const freshDir = (): string => {
    const dir = join(tmp(), `journal-${++n}`);
    mkdirSync(dir);
    return dir;
  };

  it('a second run is refused while the first holds it', async () => {
    const dir = freshDir();
    const holder = contender(dir, 0, 5000, 0);
    // The second starts once the first holds the lock (on a loaded box either child may boot first).
    while (!existsSync(join(dir, 'lock'))) await new Promise((resolve) => setTimeout(resolve, 20));
    const [first, second] = await Promise.all([holder, contender(dir, 0, 0, 0)]);
    expect(first).toBe('won');
    expect(second).toMatch(/^journal '.*' is in use by another payrun \(pid \d+\)$/);
  });

  it.each([
    ['a dead pid', () => `${deadPid()}\n`],
    ['nothing (an empty file an older payrun left)', () => ''],
  ])('a stale lock holding %s is taken over', async (_, content) => {
    const dir = freshDir();
    writeFileSync(join(dir, 'lock'), content());
    expect(await contender(dir, 0, 0, 0)).toBe('won');
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a dead run's temp files (killed between writing its pid and linking it) are removed by the next owner; a live run's are kept", async () => {
    const dir = freshDir();
    const dead = deadPid();
    writeFileSync(join(dir, `lock.${dead}.tmp`), `${dead}\n`);
    writeFileSync(join(dir, `lock.break.${dead}.tmp`), `${dead}\n`);
    writeFileSync(join(dir, `lock.${process.pid}.tmp`), `${process.pid}\n`);
    expect(await contender(dir, 0, 0, 0)).toBe('won');
    expect(readdirSync(dir)).toEqual([`lock.${process.pid}.tmp`]);
  });

  it('six runs that find one stale lock at the same moment: exactly one wins, the others are refused', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = freshDir();
      writeFileSync(join(dir, 'lock'), `${deadPid()}\n`);
      const startAt = Date.now() + 800;
      const results = await Promise.all(Array.from({ length: 6 }, () => contender(dir, startAt, 1500, 100)));
      expect(results.filter((r) => r === 'won'), results.join('\n')).toHaveLength(1);
      for (const r of results.filter((r) => r !== 'won')) expect(r).toMatch(/is in use by another payrun \(pid \d+\)$/);
      expect(readdirSync(dir)).toEqual([]); // released, no temp or break file left
    }
  });

  it('the lock file always holds the pid of the run that has it', async () => {
    const dir = freshDir();
    const pending = contender(dir, Date.now() + 200, 500, 0);
    let seen = '';
    const until = Date.now() + 1500;
    while (Date.now() < until && seen === '') {
      try {
        seen = readFileSync(join(dir, 'lock'), 'utf8');
      } catch {
        // not taken yet
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(seen).toMatch(/^\d+\n$/);
    expect(await pending).toBe('won');
  });
});
