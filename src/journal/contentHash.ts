import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';

/** SHA-256 of a regular file's whole content (read by position, so the descriptor's own position is untouched). */
export function contentHash(fd: number): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let at = 0; ; ) {
    const n = readSync(fd, buf, 0, buf.length, at);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
    at += n;
  }
  return hash.digest('hex');
}
