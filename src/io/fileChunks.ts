import { read } from 'node:fs';
import { InputError } from './inputError.js';
import { MAX_LINE_BYTES } from './wholeLines.js';


/** One read; a non-blocking descriptor with nothing to read yet (EAGAIN) is waited for. */
function readInto(fd: number, buf: Buffer, offset: number, position: number | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const attempt = (): void =>
      read(fd, buf, offset, buf.length - offset, position, (error, bytesRead) => {
        if (error?.code === 'EAGAIN') setTimeout(attempt, 1);
        else if (error) reject(error);
        else resolve(bytesRead);
      });
    attempt();
  });
}

/**
 * Reads a file or a pipe (standard input is fd 0) as chunks that end on a line boundary (the last may lack its terminator),
 * straight into two reused buffers: no garbage per chunk, so memory stays flat whatever the
 * file size. A yielded chunk stays valid until the next one is asked for (run() hands it to the
 * engine, which parses it or copies it, before that). With `position`, reading starts at that
 * byte offset of a regular file (a resumed run), whatever the descriptor's own position.
 */
export async function* fileChunks(fd: number, chunkBytes = 1 << 20, position?: number): AsyncGenerator<Buffer> {
  let at = position ?? null;
  const ring = 2;
  const buffers: Buffer[] = Array.from({ length: ring }, () => Buffer.allocUnsafe(chunkBytes));
  let turn = 0;
  let carry: Buffer = Buffer.alloc(0);
  for (;;) {
    let buf = buffers[turn]!;
    if (carry.length >= buf.length / 2) {
      // A very long line: give this slot a bigger buffer (bounded by MAX_LINE_BYTES).
      if (carry.length > MAX_LINE_BYTES) throw new InputError(`a line is longer than ${MAX_LINE_BYTES} bytes`);
      buf = buffers[turn] = Buffer.allocUnsafe(carry.length * 2 + chunkBytes);
    }
    carry.copy(buf, 0);
    let filled = carry.length;
    const bytesRead = await readInto(fd, buf, filled, at);
    if (at !== null) at += bytesRead;
    filled += bytesRead;
    if (bytesRead === 0) {
      if (filled > 0) yield buf.subarray(0, filled);
      return;
    }
    const lastLf = buf.lastIndexOf(10, filled - 1);
    if (lastLf < 0) {
      carry = Buffer.from(buf.subarray(0, filled));
      continue;
    }
    // The carry must survive this buffer being reused, and the next buffer is another one.
    carry = buf.subarray(lastLf + 1, filled);
    turn = (turn + 1) % ring;
    yield buf.subarray(0, lastLf + 1);
  }
}
