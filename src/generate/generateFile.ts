/**
 * Writes a generated input file (and optionally the accounts it must produce) atomically.
 *
 * Rows are joined into short strings (~16 KiB, so V8's young generation frees them cheaply) that
 * are copied into one of two 1 MiB buffers; while one buffer is being written the next one fills,
 * so memory stays at two buffers however many rows there are.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ReferenceModel } from '../engine/referenceModel.js';
import { HEADER, TransactionStream, validateOptions } from './generator.js';
import type { GenerateOptions } from './generator.js';

export type { GenerateOptions } from './generator.js';

export interface GenerateFileOptions extends GenerateOptions {
  out: string;
  /** Also write the accounts CSV the file must produce, from the reference model. */
  expected?: string | undefined;
  /** Called each time a buffer goes to the file, and once at the end. */
  onProgress?: ((rowsWritten: number) => void) | undefined;
}

const BUFFER_BYTES = 1 << 20;
const TEXT_CHARS = 1 << 14;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export async function generateFile(opts: GenerateFileOptions): Promise<{ rows: number; bytes: number; followingTx: number }> {
  validateOptions(opts);
  const eol = opts.crlf === true ? '\r\n' : '\n';
  const model = opts.expected === undefined ? undefined : new ReferenceModel();
  const rows = new TransactionStream(opts);
  const outTmp = tempPathFor(opts.out);
  const expectedTmp = opts.expected === undefined ? undefined : tempPathFor(opts.expected);
  let file: FileHandle | undefined;
  try {
    file = await open(outTmp, 'wx');
    const out = new BufferedFile(file);
    if (opts.bom === true) out.fill = BOM.copy(out.buffer);
    model?.pushLine(`${opts.bom === true ? '\uFEFF' : ''}${HEADER}`);
    let text = HEADER + eol;
    let written = 0;
    for (let row = rows.next(); row !== null; row = rows.next()) {
      text += row;
      text += eol;
      written++;
      model?.pushLine(row);
      if (text.length >= TEXT_CHARS) {
        if (await out.add(text)) opts.onProgress?.(written);
        text = '';
      }
    }
    await out.add(text);
    await out.flush();
    await file.close();
    file = undefined;
    if (model !== undefined && expectedTmp !== undefined) {
      // A failed write of the expected accounts names that file, not the input being generated.
      await writeFile(expectedTmp, model.result().accountsCsv, { flag: 'wx' }).catch((error: unknown) => {
        throw Object.assign(error as object, { path: expectedTmp });
      });
    }
    await rename(outTmp, opts.out);
    if (opts.expected !== undefined && expectedTmp !== undefined) await rename(expectedTmp, opts.expected);
    opts.onProgress?.(written);
    return { rows: written, bytes: out.bytes, followingTx: rows.followingTx };
  } catch (error) {
    await file?.close().catch(() => undefined);
    await rm(outTmp, { force: true });
    if (expectedTmp !== undefined) await rm(expectedTmp, { force: true });
    throw error;
  }
}

/** Two alternating buffers; at most one write in flight, so writes land in order. */
class BufferedFile {
  buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  fill = 0;
  bytes = 0;
  private spare = Buffer.allocUnsafe(BUFFER_BYTES);
  private pending: Promise<void> | undefined;

  constructor(private readonly file: FileHandle) {}

  /** Adds ASCII text (the generator writes no other); true when a full buffer went out. */
  async add(text: string): Promise<boolean> {
    const flushed = this.fill + text.length > BUFFER_BYTES;
    if (flushed) await this.startWrite();
    this.fill += this.buffer.write(text, this.fill, 'latin1');
    return flushed;
  }

  async flush(): Promise<void> {
    await this.startWrite();
    await this.pending;
  }

  private async startWrite(): Promise<void> {
    await this.pending;
    const full = this.buffer.subarray(0, this.fill);
    this.bytes += this.fill;
    this.pending = writeAll(this.file, full);
    this.pending.catch(() => undefined); // surfaced by the next await of pending
    [this.buffer, this.spare] = [this.spare, this.buffer];
    this.fill = 0;
  }
}

// A write may be partial; loop until the whole slice is in the file.
async function writeAll(file: FileHandle, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    const { bytesWritten } = await file.write(data, offset, data.length - offset);
    if (bytesWritten <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    offset += bytesWritten;
  }
}

// Same directory, so the final rename never crosses file systems.
function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}
