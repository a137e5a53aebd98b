import { writeSync } from 'node:fs';

/** The one system call every file writer goes through (a test may pass one that writes less). */
export type WriteCall = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) => number;

/**
 * Writes every byte of data to fd, or throws. `writeSync` may write less than asked (a disk that
 * fills up mid-write writes what fits and returns its count); the rest is written again, and a
 * write that makes no progress is ENOSPC, so a file is never left short in silence.
 */
export function writeFully(fd: number, data: string | Uint8Array, position: number | null = null, write: WriteCall = writeSync): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let done = 0; done < bytes.length; ) {
    const written = write(fd, bytes, done, bytes.length - done, position === null ? null : position + done);
    if (!(written > 0)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', errno: -28 });
    done += written;
  }
}
