import { closeSync, openSync } from 'node:fs';
import { REASON_CODES, type RejectReason } from '../domain/rejectReason.js';
import { asWriteError } from './writeError.js';
import { writeFully } from './writeFully.js';

const FLUSH_AT = 64 * 1024;
const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

/** Builds the `--rejects` CSV: `line,reason,row`, the row's original bytes, quoted only where needed. */
export class RejectsCsv {
  private parts: Buffer[] = [];
  private pending = 0;

  constructor(private readonly flush: (data: Buffer) => void) {
    this.push(Buffer.from('line,reason,row\n'));
  }

  add(line: number, reason: number, buf: Uint8Array, start: number, end: number): void {
    this.push(Buffer.from(`${line},${REASON_CODES[reason]},`));
    const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start);
    if (needsQuotes(text)) {
      this.push(Buffer.from(`"${text.toString('latin1').replaceAll('"', '""')}"\n`, 'latin1'));
    } else {
      this.push(Buffer.from(text));
      this.push(Buffer.from('\n'));
    }
  }

  end(): void {
    if (this.pending > 0) this.drain();
  }

  private drain(): void {
    const data = Buffer.concat(this.parts);
    this.parts = [];
    this.pending = 0;
    this.flush(data);
  }

  private push(part: Buffer): void {
    this.parts.push(part);
    this.pending += part.length;
    if (this.pending >= FLUSH_AT) this.drain();
  }

}

function needsQuotes(text: Uint8Array): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === COMMA || c === QUOTE || c === CR || c === LF) return true;
  }
  return false;
}

/**
 * A RejectsCsv written to a file as it goes (bounded memory however many rows are rejected).
 * I/O errors name the file and say "write", whichever call failed.
 */
export class RejectsFile {
  private fd: number;
  readonly csv: RejectsCsv;

  constructor(private readonly path: string) {
    this.fd = this.io(() => openSync(path, 'w'));
    this.csv = new RejectsCsv((data) => {
      this.io(() => writeFully(this.fd, data));
    });
  }

  /** Flushes and closes; safe to call again (after an error, the second call only releases). */
  close(): void {
    const fd = this.fd;
    if (fd < 0) return;
    try {
      this.csv.end();
    } finally {
      this.fd = -1;
      closeSync(fd);
    }
  }

  private io<T>(call: () => T): T {
    try {
      return call();
    } catch (error) {
      throw asWriteError(error, this.path);
    }
  }
}

/** Receives every rejected row, in file order, with its original bytes buf[start, end). */
export type RejectSink = (line: number, reason: RejectReason, buf: Uint8Array, start: number, end: number) => void;
