import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectoryError, type DirectoryFs, ensureDirectory } from '../src/io/ensureDirectory.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed`), { code });

/** A file system where only `existing` exists and mkdir fails with `code` under `failUnder`. */
function fakeFs(existing: string[], failUnder: string, code: string): DirectoryFs & { made: string[] } {
  const dirs = new Set(existing);
  const made: string[] = [];
  return {
    made,
    isDirectory: (path) => (dirs.has(path) ? true : undefined),
    mkdir: (path) => {
      if (path.startsWith(failUnder)) throw errno(code);
      dirs.add(path);
      made.push(path);
    },
  };
}

const made: string[] = [];
const temporary = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'payrun-dir-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('ensureDirectory: each missing parent made in turn, the first real reason reported', () => {
  it('makes every missing level', () => {
    const root = temporary();
    ensureDirectory(join(root, 'a', 'b', 'c'), 'journal directory');
    expect(statSync(join(root, 'a', 'b', 'c')).isDirectory()).toBe(true);
    ensureDirectory(join(root, 'a', 'b', 'c'), 'journal directory'); // there already: nothing to do
  });

  it('under /proc (where recursive mkdir loops forever): no such file or directory, at once', () => {
    expect(() => ensureDirectory('/proc/nonexist/x', 'journal directory')).toThrow(
      new DirectoryError("cannot create journal directory '/proc/nonexist/x': no such file or directory"),
    );
    expect(existsSync('/proc/nonexist')).toBe(false);
  });

  it('a file on the way: not a directory', () => {
    const root = temporary();
    writeFileSync(join(root, 'f'), '');
    expect(() => ensureDirectory(join(root, 'f'), 'journal directory')).toThrow(/cannot create journal directory '.*f': not a directory$/);
    expect(() => ensureDirectory(join(root, 'f', 'x'), 'journal directory')).toThrow(/: not a directory$/);
  });

  it.each([
    ['EROFS', 'read-only file system'],
    ['EACCES', 'permission denied'],
    ['ENOSPC', 'no space left on device'],
  ])('%s from mkdir: %s', (code, reason) => {
    const fs = fakeFs(['/', '/mnt'], '/mnt/ro', code);
    expect(() => ensureDirectory('/mnt/ro/j/p0', 'journal directory', fs)).toThrow(new DirectoryError(`cannot create journal directory '/mnt/ro/j/p0': ${reason}`));
  });

  it('creates parents first, then the directory', () => {
    const fs = fakeFs(['/'], '/never', 'EIO');
    ensureDirectory('/a/b/c', 'journal directory', fs);
    expect(fs.made).toEqual(['/a', '/a/b', '/a/b/c']);
  });
});
