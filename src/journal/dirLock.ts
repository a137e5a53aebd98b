import { linkSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { writeFully } from '../io/writeFully.js';
import { JournalError } from './journalError.js';

const LOCK_FILE = 'lock';
const ATTEMPTS = 200;
const RETRY_MS = 5;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The pid a lock file names and the file's inode, or undefined when it is gone. */
function readOwner(path: string): { pid: number; ino: number } | undefined {
  try {
    const ino = statSync(path).ino;
    return { pid: Number.parseInt(readFileSync(path, 'utf8'), 10), ino };
  } catch {
    return undefined;
  }
}

/**
 * Creates path holding this process's pid, all at once: the pid is written to a temp file that is
 * then hard-linked into place, so a lock file is never seen empty (an `open(wx)` then `write`
 * left a moment where another run took an empty lock for a stale one and both went on).
 */
function createWithPid(path: string): boolean {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(temp, 'w');
    try {
      writeFully(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** `lock.<pid>.tmp` / `lock.break.<pid>.tmp` of runs killed between writing and linking them. */
const TEMP_NAME = /^lock(?:\.break)?\.(\d+)\.tmp$/;

/** Called while holding the lock: a live run's temp file is its own business; a dead run's is litter. */
function removeDeadTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = TEMP_NAME.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !alive(Number(pid))) rmSync(join(dir, name), { force: true });
  }
}

const stale = (owner: { pid: number }): boolean => !Number.isInteger(owner.pid) || owner.pid === process.pid || !alive(owner.pid);

export interface LockOptions {
  /** Tests only: a pause after a stale lock is judged stale, before it is broken (widens the race). */
  breakDelayMs?: number;
}

/**
 * One payrun at a time per journal: DIR/lock holds the owner's pid. A lock whose process is gone
 * (it was killed) is stale and taken over, so a crashed run never blocks its own resume. Breaking
 * a stale lock is itself done under DIR/lock.break (created the same way), and only if the lock
 * is still the very file (inode) judged stale: two runs that find one stale lock never both win.
 */
export class DirLock {
  private constructor(private readonly path: string) {}

  static take(dir: string, options: LockOptions = {}): DirLock {
    const path = join(dir, LOCK_FILE);
    const breaker = `${path}.break`;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (createWithPid(path)) {
        removeDeadTemps(dir);
        return new DirLock(path);
      }
      const owner = readOwner(path);
      if (owner === undefined) continue; // released meanwhile
      if (!stale(owner)) throw new JournalError(`journal '${dir}' is in use by another payrun (pid ${owner.pid})`);
      if (options.breakDelayMs !== undefined) sleepSync(options.breakDelayMs);
      if (createWithPid(breaker)) {
        try {
          const now = readOwner(path);
          if (now !== undefined && now.ino === owner.ino && stale(now)) rmSync(path, { force: true });
        } finally {
          rmSync(breaker, { force: true });
        }
        continue;
      }
      const breaking = readOwner(breaker);
      if (breaking !== undefined && stale(breaking)) {
        rmSync(breaker, { force: true }); // a run killed while it broke a lock
        continue;
      }
      sleepSync(RETRY_MS);
    }
    throw new JournalError(`cannot lock journal '${dir}'`);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}
