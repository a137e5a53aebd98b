import { fstatSync, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileChunks } from '../io/fileChunks.js';
import { wholeLines } from '../io/wholeLines.js';

export interface InputSource {
  /** Chunks of whole lines, in order. */
  lines: AsyncIterable<Buffer>;
  /** Size in bytes when known (a regular file), for the progress bar and table sizing. */
  size?: number;
  /** The name used in error messages. */
  name: string;
}

/** Opens the input eagerly so that a missing or unreadable file fails before any work starts. */
export function openInput(path: string, stdin: Readable, chunkBytes?: number): InputSource {
  if (path === '-') return { lines: wholeLines(stdin as AsyncIterable<Buffer>), name: 'stdin' };
  const fd = openSync(path, 'r');
  const stat = fstatSync(fd);
  if (stat.isDirectory()) {
    throw Object.assign(new Error('EISDIR: is a directory'), { code: 'EISDIR', syscall: 'read', path });
  }
  return { lines: fileChunks(fd, chunkBytes), size: stat.isFile() ? stat.size : undefined, name: path };
}
