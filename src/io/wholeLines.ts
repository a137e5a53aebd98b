import { InputError } from './inputError.js';

/** A line longer than this is a fatal error rather than unbounded memory. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Regroups raw chunks into chunks that end on a line boundary, so a row is never split between
 * two chunks. The last chunk may end without a line terminator. Memory: one chunk plus one line.
 */
export async function* wholeLines(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry: Buffer | null = null;
  for await (const chunk of source) {
    const lastLf = chunk.lastIndexOf(10);
    if (lastLf < 0) {
      carry = carry === null ? chunk : Buffer.concat([carry, chunk]);
      if (carry.length > MAX_LINE_BYTES) throw new InputError(`a line is longer than ${MAX_LINE_BYTES} bytes`);
      continue;
    }
    const head = chunk.subarray(0, lastLf + 1);
    yield carry === null ? head : Buffer.concat([carry, head]);
    carry = lastLf + 1 < chunk.length ? chunk.subarray(lastLf + 1) : null;
  }
  if (carry !== null) yield carry;
}
