import { type FsyncMode } from './fsyncMode.js';
import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, openSync } from 'node:fs';
import { asWriteError } from '../io/writeError.js';
import { writeFully } from '../io/writeFully.js';
import { FRAME_BYTES, type RecordKind, sealFrame } from './format.js';

export const GROUP_COMMIT_MS = 20;

/** The one writer of a journal file: appends sealed records at its end. */
export class JournalWriter {
  private readonly fd: number;
  private scratch = Buffer.allocUnsafeSlow(1 << 16);
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;

  /** Opens path for appending after `end` (anything past it, a torn tail, is cut off first). */
  constructor(
    private readonly path: string,
    private end: number,
    private seq: number,
    private readonly mode: FsyncMode,
  ) {
    this.fd = openSync(path, 'r+');
    ftruncateSync(this.fd, end);
    if (mode === 'batch') {
      this.timer = setInterval(() => this.flushInBackground(), GROUP_COMMIT_MS);
      this.timer.unref();
    }
  }

  get nextSeq(): number {
    return this.seq + 1;
  }

  get offset(): number {
    return this.end;
  }

  /**
   * Appends one record: `write` puts the payload at buffer[FRAME_BYTES...] (the buffer has room
   * for payloadBytes) and returns its exact length. Returns the record's offset.
   */
  append(kind: RecordKind, payloadBytes: number, write: (record: Buffer) => number, durable = false): number {
    if (this.failure) throw this.failure;
    const need = FRAME_BYTES + payloadBytes + 8;
    if (this.scratch.length < need) this.scratch = Buffer.allocUnsafeSlow(Math.max(need, 2 * this.scratch.length));
    const written = write(this.scratch);
    const total = sealFrame(this.scratch, kind, ++this.seq, written);
    try {
      writeFully(this.fd, this.scratch.subarray(0, total), this.end);
    } catch (error) {
      throw asWriteError(error, this.path); // the record is not counted: the next append overwrites what part of it landed
    }
    const offset = this.end;
    this.end += total;
    this.dirty = true;
    if (this.mode === 'always' || (durable && this.mode !== 'off')) this.sync();
    return offset;
  }

  /** Everything appended so far is on disk (unless --fsync off). */
  sync(): void {
    if (this.mode === 'off' || !this.dirty) return;
    this.dirty = false;
    fdatasyncSync(this.fd);
  }

  /** sync() on libuv's thread pool: several journals can be flushed at once. */
  async syncAsync(): Promise<void> {
    if (this.failure) throw this.failure;
    await this.flushing;
    if (this.mode === 'off' || !this.dirty) return;
    this.dirty = false;
    await new Promise<void>((resolve, reject) =>
      fdatasync(this.fd, (error) => {
        if (error) reject((this.failure ??= error));
        else resolve();
      }),
    );
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flushing;
    try {
      this.sync();
    } finally {
      closeSync(this.fd);
    }
  }

  private flushInBackground(): void {
    if (!this.dirty || this.flushing) return;
    this.dirty = false;
    this.flushing = new Promise((resolve) => {
      fdatasync(this.fd, (error) => {
        if (error) this.failure ??= error;
        this.flushing = undefined;
        resolve();
      });
    });
  }
}
