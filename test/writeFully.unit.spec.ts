import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type WriteCall, writeFully } from '../src/io/writeFully.js';

describe('writeFully', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const file = (): { fd: number; path: string } => {
    dir = mkdtempSync(join(tmpdir(), 'payrun-writefully-'));
    const path = join(dir, 'out');
    return { fd: openSync(path, 'w'), path };
  };

  it('writes the rest again when a write comes back short', () => {
    const { fd, path } = file();
    const calls: number[] = [];
    const shortWrites: WriteCall = (f, buffer, offset, length, position) => {
      calls.push(length);
      return writeSync(f, buffer, offset, Math.min(length, 7), position);
    };
    writeFully(fd, 'line,reason,row\n2,BAD_TX,"deposit,1,x,1"\n', null, shortWrites);
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe('line,reason,row\n2,BAD_TX,"deposit,1,x,1"\n');
    expect(calls.length).toBeGreaterThan(5);
  });

  it('writes at a position, piece by piece', () => {
    const { fd, path } = file();
    writeFully(fd, 'abcdef', null);
    writeFully(fd, Buffer.from('XYZ'), 2, (f, buffer, offset, length, position) => writeSync(f, buffer, offset, 1, position));
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe('abXYZf');
  });

  it('a write that makes no progress (a full disk) is ENOSPC, never a short file in silence', () => {
    const { fd } = file();
    let first = true;
    const fills: WriteCall = (f, buffer, offset, length, position) => {
      if (!first) return 0;
      first = false;
      return writeSync(f, buffer, offset, length - 3, position);
    };
    expect(() => writeFully(fd, 'a full disk', null, fills)).toThrow(expect.objectContaining({ code: 'ENOSPC', syscall: 'write' }));
    closeSync(fd);
  });
});
