import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { asWriteError } from './writeError.js';
import { writeAll } from './writeAll.js';
import { writeFully } from './writeFully.js';

/**
 * Writes a whole file atomically: a temp file beside it, fsync, rename over the target. A target
 * that exists and is not a regular file (a FIFO, /dev/stdout, a device) is written in place:
 * renaming over it would replace it.
 */
export function writeFileAtomic(path: string, data: string): void {
  let special = false;
  try {
    special = !statSync(path).isFile();
  } catch {
    // missing: created by the rename
  }
  if (special) {
    try {
      const fd = openSync(path, 'w');
      try {
        writeFully(fd, data);
      } finally {
        closeSync(fd);
      }
      return;
    } catch (error) {
      throw asWriteError(error, path);
    }
  }
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(temp, 'w');
    try {
      writeFully(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw asWriteError(error, path);
  }
}

/** Accounts to `-o FILE` (atomically) or to stdout; a closed stdout is not an error. */
export async function writeAccounts(text: string, output: string | undefined, stdout: Writable): Promise<void> {
  if (output !== undefined && output !== '-') writeFileAtomic(output, text);
  else await writeAll(stdout, text);
}
