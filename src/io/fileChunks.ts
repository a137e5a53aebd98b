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
 * Reads a file or a pipe (standard input is fd 0) as chunks that end on a line boundary (the
 * last may lack its terminator), straight into two reused buffers: no garbage per chunk, so
 * memory stays flat whatever the file size. While a chunk is worked on, the next one is read
 * into the other buffer (a pipe's writer is kept going rather than waiting on each read). A
 * yielded chunk stays valid until the next one is asked for (run() hands it to the engine, which
 * parses it or copies it, before that). With `position`, reading starts at that byte offset of a
 * regular file (a resumed run), whatever the descriptor's own position. Ending early waits for
 * the read in flight, so nothing reads the descriptor after the generator is done.
 */
export async function* fileChunks(fd: number, chunkBytes = 1 << 20, position?: number): AsyncGenerator<Buffer> {
  let at = position ?? null;
  const buffers: Buffer[] = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
  let turn = 0;

  /** This turn's buffer with `carry` at its start (a bigger one for a very long line). */
  const withCarry = (carry: Buffer): Buffer => {
    let buf = buffers[turn]!;
    if (carry.length >= buf.length / 2) {
      if (carry.length > MAX_LINE_BYTES) throw new InputError(`a line is longer than ${MAX_LINE_BYTES} bytes`);
      buf = buffers[turn] = Buffer.allocUnsafe(carry.length * 2 + chunkBytes);
    }
    carry.copy(buf, 0);
    return buf;
  };
  /**
   * Reads after `filled` bytes until the buffer is half full or the input ends: a pipe gives at
   * most its own buffer (64 KiB) a read, and a chunk has a fixed cost, so a piped input goes on
   * in chunks as large as a file's.
   */
  const fill = (buf: Buffer, filled: number): Promise<{ filled: number; ended: boolean }> => {
    const reading = (async () => {
      let bytesRead: number;
      do {
        bytesRead = await readInto(fd, buf, filled, at);
        if (at !== null) at += bytesRead;
        filled += bytesRead;
      } while (bytesRead > 0 && filled < buf.length >>> 1);
      return { filled, ended: bytesRead === 0 };
    })();
    // A read ahead may fail while its chunk's predecessor is still worked on: it is awaited (and
    // its error thrown) when that chunk is asked for, so it is not an unhandled rejection.
    reading.catch(() => undefined);
    return reading;
  };

  let buf = withCarry(Buffer.alloc(0));
  let pending = fill(buf, 0);
  try {
    for (;;) {
      const { filled, ended } = await pending;
      if (ended) {
        if (filled > 0) yield buf.subarray(0, filled);
        return;
      }
      const lastLf = buf.lastIndexOf(10, filled - 1);
      if (lastLf < 0) {
        // No line end yet: the same turn again, in a buffer that holds the line so far.
        buf = withCarry(Buffer.from(buf.subarray(0, filled)));
        pending = fill(buf, filled);
        continue;
      }
      const chunk = buf.subarray(0, lastLf + 1);
      const carry = buf.subarray(lastLf + 1, filled);
      turn ^= 1;
      buf = withCarry(carry);
      pending = fill(buf, carry.length);
      yield chunk;
    }
  } finally {
    await pending.catch(() => undefined);
  }
}
