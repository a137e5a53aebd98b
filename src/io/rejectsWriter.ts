import { closeSync, openSync, writeSync } from 'node:fs';
import { REASON_CODES } from '../domain/rejectReason.js';

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

  private push(part: Buffer): void {
    this.parts.push(part);
    this.pending += part.length;
    if (this.pending >= FLUSH_AT) this.drain();
  }

  private drain(): void {
    this.flush(Buffer.concat(this.parts));
    this.parts = [];
    this.pending = 0;
  }
}

function needsQuotes(text: Uint8Array): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === COMMA || c === QUOTE || c === CR || c === LF) return true;
  }
  return false;
}

/** A RejectsCsv written to a file as it goes (bounded memory however many rows are rejected). */
export class RejectsFile {
  private readonly fd: number;
  readonly csv: RejectsCsv;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
    this.csv = new RejectsCsv((data) => {
      writeSync(this.fd, data);
    });
  }

  close(): void {
    this.csv.end();
    closeSync(this.fd);
  }
}
