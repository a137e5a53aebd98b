import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** What a path names on disk, after every link: device + inode, or undefined when nothing is there yet. */
export function fileIdentity(path: string): string | undefined {
  try {
    const stat = statSync(path);
    // Character devices (/dev/null, a terminal) may be named by any number of outputs at once.
    if (stat.isCharacterDevice()) return undefined;
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

/** The directory a path's file is (or will be) in, links followed: where a write to it lands. */
export function realDirectoryOf(path: string): string {
  try {
    return dirname(realpathSync(path));
  } catch {
    try {
      return realpathSync(dirname(resolve(path)));
    } catch {
      return dirname(resolve(path));
    }
  }
}

/** True when a write to path would land inside dir (its journal.log, a snapshot, its lock). */
export function landsInDirectory(path: string, dir: string): boolean {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return false; // a journal that does not exist yet holds nothing to overwrite
  }
  const target = join(realDirectoryOf(path), basename(path));
  return realDirectoryOf(path) === real || target === real;
}
