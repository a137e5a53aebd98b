import { createReadStream, fstatSync, openSync } from 'node:fs';
import type { Readable } from 'node:stream';

const CHUNK_BYTES = 1 << 20;

export interface InputSource {
  chunks: AsyncIterable<Buffer>;
  /** Size in bytes when known (a regular file), for the progress bar. */
  size?: number;
  /** The name used in error messages. */
  name: string;
}

/** Opens the input eagerly so that a missing or unreadable file fails before any work starts. */
export function openInput(path: string, stdin: Readable): InputSource {
  if (path === '-') return { chunks: stdin as AsyncIterable<Buffer>, name: 'stdin' };
  const fd = openSync(path, 'r');
  const stat = fstatSync(fd);
  if (stat.isDirectory()) {
    throw Object.assign(new Error(`EISDIR: is a directory`), { code: 'EISDIR', syscall: 'read', path });
  }
  const stream = createReadStream(path, { fd, highWaterMark: CHUNK_BYTES });
  return { chunks: stream, size: stat.isFile() ? stat.size : undefined, name: path };
}
