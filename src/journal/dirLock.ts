import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { JournalError } from './journalError.js';

const LOCK_FILE = 'lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One payrun at a time per journal: DIR/lock holds the owner's pid. A lock whose process is gone
 * (it was killed) is stale and taken over, so a crashed run never blocks its own resume.
 */
export class DirLock {
  private constructor(private readonly path: string) {}

  static take(dir: string): DirLock {
    const path = join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return new DirLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        let owner = NaN;
        try {
          owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
        } catch {
          // removed meanwhile: try again
        }
        if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
          throw new JournalError(`journal '${dir}' is in use by another payrun (pid ${owner})`);
        }
        rmSync(path, { force: true });
      }
    }
    throw new JournalError(`cannot lock journal '${dir}'`);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}
