import { fstatSync, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileChunks } from './fileChunks.js';
import { wholeLines } from './wholeLines.js';

export interface InputSource {
  /** Chunks of whole lines, in order. */
  lines: AsyncIterable<Buffer>;
  /** Size in bytes when known (a regular file), for the progress bar and table sizing. */
  size?: number;
  /** The name used in error messages. */
  name: string;
  /** A regular file (also a redirected standard input): its descriptor, which can be read again from any offset. */
  file?: { fd: number; chunksFrom: (offset: number) => AsyncIterable<Buffer> };
}

function regularFile(fd: number, chunkBytes: number | undefined): InputSource['file'] {
  return { fd, chunksFrom: (offset) => fileChunks(fd, chunkBytes, offset) };
}

/**
 * Opens the input eagerly so that a missing or unreadable file fails before any work starts.
 * `opened`: the path's descriptor, opened already (a FIFO, opened off the main thread).
 */
export function openInput(path: string, stdin: Readable, chunkBytes?: number, opened?: number): InputSource {
  // Standard input is read like a file, into reused buffers (a stream would allocate per chunk);
  // an in-process stream (tests call main() with one) is regrouped into whole lines instead.
  if (path === '-') {
    const fd = (stdin as { fd?: unknown }).fd;
    if (fd !== 0) return { lines: wholeLines(stdin as AsyncIterable<Buffer>), name: 'stdin' };
    const stat = fstatSync(0); // `payrun - < file` has a size; a pipe does not
    if (!stat.isFile()) return { lines: fileChunks(0, chunkBytes), name: 'stdin' };
    return { lines: fileChunks(0, chunkBytes), size: stat.size, name: 'stdin', file: regularFile(0, chunkBytes) };
  }
  const fd = opened ?? openSync(path, 'r');
  const stat = fstatSync(fd);
  if (stat.isDirectory()) {
    throw Object.assign(new Error('EISDIR: is a directory'), { code: 'EISDIR', syscall: 'read', path });
  }
  if (!stat.isFile()) return { lines: fileChunks(fd, chunkBytes), name: path };
  return { lines: fileChunks(fd, chunkBytes), size: stat.size, name: path, file: regularFile(fd, chunkBytes) };
}
