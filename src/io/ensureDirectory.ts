import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { errnoText } from './errnoText.js';

/** A directory payrun needs that cannot be made: one line, with the first real reason. */
export class DirectoryError extends Error {}

/** The file-system calls ensureDirectory makes (a test passes failing ones: EROFS, EACCES). */
export interface DirectoryFs {
  mkdir(path: string): void;
  isDirectory(path: string): boolean | undefined;
}

const realFs: DirectoryFs = {
  mkdir: (path) => mkdirSync(path),
  /** true, false (something else is there), undefined (nothing is). */
  isDirectory: (path) => {
    try {
      return statSync(path).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw error;
    }
  },
};

/**
 * Makes `dir` and any missing parents, one at a time (never `recursive: true`, which loops
 * forever on a path it cannot create, e.g. under /proc), and throws a DirectoryError naming
 * `dir` as `role` and the first real reason (no such file or directory, read-only file system,
 * permission denied, not a directory).
 */
export function ensureDirectory(dir: string, role: string, fs: DirectoryFs = realFs): void {
  const fail = (reason: string): never => {
    throw new DirectoryError(`cannot create ${role} '${dir}': ${reason}`);
  };
  const missing: string[] = [];
  let path = resolve(dir);
  try {
    for (;;) {
      const found = fs.isDirectory(path);
      if (found === true) break;
      if (found === false) fail('not a directory');
      missing.push(path);
      const parent = dirname(path);
      if (parent === path) fail('no such file or directory'); // even the root is missing
      path = parent;
    }
    for (const each of missing.reverse()) {
      try {
        fs.mkdir(each);
      } catch (error) {
        // Made meanwhile by another process (two consumers starting together) is no failure.
        if ((error as NodeJS.ErrnoException).code === 'EEXIST' && fs.isDirectory(each) === true) continue;
        throw error;
      }
    }
  } catch (error) {
    if (error instanceof DirectoryError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    fail(code === 'EEXIST' ? 'not a directory' : errnoText(error));
  }
}
