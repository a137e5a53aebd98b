import { createHash, type Hash } from 'node:crypto';
import { fstatSync, readSync } from 'node:fs';
import { JournalError } from '../journal/journalError.js';

/**
 * Proof that a journaled file run read the content it hashed. The input is recognised by the
 * SHA-256 taken when the run opens it, then read to whatever end it has: a file truncated,
 * appended to or rewritten mid-run would be journaled as applied with other rows than its hash
 * names. So every chunk is hashed as it passes, and the file's size and mtime are checked after
 * each read, before the chunk reaches the engine (and the journal); at the end the bytes read
 * must be `size` bytes with the hash taken at open. Otherwise the run stops with one line and
 * the input stays unfinished: its rows journaled so far were read before the change was seen.
 */
export class ReadCheck {
  private readonly hash: Hash = createHash('sha256');
  private readonly mtimeMs: number;

  constructor(
    private readonly fd: number,
    private readonly name: string,
    private readonly sha256: string,
    private readonly size: number,
    private readonly journalDir: string,
  ) {
    const stat = fstatSync(fd);
    this.mtimeMs = stat.mtimeMs;
    // Changed while it was being hashed.
    if (stat.size !== size) this.fail(`now ${stat.size} bytes`);
  }

  /** The chunks of `source`, which reads the file from byte `from`, checked as they pass. */
  async *chunks(source: AsyncIterable<Buffer>, from: number): AsyncGenerator<Buffer> {
    this.hashPrefix(from);
    let at = from;
    for await (const chunk of source) {
      at += chunk.length;
      const stat = fstatSync(this.fd);
      if (stat.size !== this.size || at > this.size) this.fail(`now ${stat.size} bytes`);
      if (stat.mtimeMs !== this.mtimeMs) this.fail(`modified at ${new Date(stat.mtimeMs).toISOString()}`);
      this.hash.update(chunk);
      yield chunk;
    }
    if (at !== this.size) this.fail(`${at} bytes read`);
    if (this.hash.digest('hex') !== this.sha256) this.fail('the bytes read are not the content hashed');
  }

  /** A resumed run reads from the middle: the bytes before it are hashed from the file now. */
  private hashPrefix(bytes: number): void {
    const buf = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(bytes, 1)));
    for (let at = 0; at < bytes; ) {
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, bytes - at), at);
      if (n === 0) this.fail(`${at} bytes long`);
      this.hash.update(buf.subarray(0, n));
      at += n;
    }
  }

  private fail(now: string): never {
    throw new JournalError(
      `'${this.name}' changed while it was read (${this.size} bytes, sha256 ${this.sha256.slice(0, 12)} when the run began; ${now}); it stays unfinished in journal '${this.journalDir}': restore that content and run the same command to finish it, or undo its rows with 'payrun journal abandon ${this.journalDir}'`,
    );
  }
}
