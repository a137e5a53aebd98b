/**
 * One stream entry holds a chunk of one partition's rows (about 256), as `payrun publish` reads
 * them: the input number (`n`), every row's line (`l`, u32 little-endian each), the rows' raw
 * bytes each followed by CRLF (`r`: a consumer parses them as lines of a file, so a row is decided
 * exactly as `payrun FILE` decides its line), and the indexes of the rows whose tx id an earlier
 * row owns (`d`, u32 each; absent when none). One entry per chunk, not per row, is what keeps
 * Redis's work per row small.
 */
/** A chunk as published: its rows' lines and their bytes, each ended by CRLF (the entry's `r`). */
export interface Chunk {
  input: number;
  lines: Uint32Array;
  text: Buffer;
  /** Indexes of the rows marked duplicate by the publisher. */
  duplicates: number[];
}

/**
 * Gathers one partition's rows into chunks, copying each row's bytes once into the chunk's text
 * (no object per row: the publisher's cost per row is mostly here).
 */
export class ChunkBuilder {
  private text: Buffer;
  private at = 0;
  private lines: Uint32Array;
  private duplicates: number[] = [];
  count = 0;

  constructor(
    private readonly input: number,
    private readonly rows: number,
  ) {
    this.text = Buffer.allocUnsafe(64 * rows);
    this.lines = new Uint32Array(rows);
  }

  /** Adds a row (bytes[start, end)); true when the chunk is full. */
  add(line: number, bytes: Buffer, start: number, end: number, duplicate: boolean): boolean {
    const need = this.at + end - start + 2;
    if (need > this.text.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.text.length, need));
      this.text.copy(bigger, 0, 0, this.at);
      this.text = bigger;
    }
    // Rows are a few dozen bytes: a loop copies them faster than a native copy is called.
    const text = this.text;
    let at = this.at;
    for (let i = start; i < end; i++) text[at++] = bytes[i]!;
    text[at++] = 13;
    text[at++] = 10;
    this.at = at;
    if (duplicate) this.duplicates.push(this.count);
    this.lines[this.count++] = line;
    return this.count === this.rows;
  }

  /** The chunk so far; the builder starts a new one. */
  take(): Chunk {
    const chunk = { input: this.input, lines: this.lines.slice(0, this.count), text: this.text.subarray(0, this.at), duplicates: this.duplicates };
    this.text = Buffer.allocUnsafe(this.text.length);
    this.at = 0;
    this.count = 0;
    this.duplicates = [];
    return chunk;
  }
}

/** The fields of an entry as the transport reads them back (any may be missing in a stray entry). */
export interface ChunkFields {
  input?: string;
  lines?: Buffer;
  rows?: Buffer;
  duplicates?: Buffer;
}

/** A chunk's entry fields, in XADD order. */
export function encodeChunk(chunk: Chunk): (string | Buffer)[] {
  const lines = Buffer.allocUnsafe(4 * chunk.lines.length);
  const view = new DataView(lines.buffer, lines.byteOffset, lines.length);
  chunk.lines.forEach((line, i) => view.setUint32(4 * i, line, true));
  const fields: (string | Buffer)[] = ['n', String(chunk.input), 'l', lines, 'r', chunk.text];
  if (chunk.duplicates.length > 0) {
    const marks = Buffer.allocUnsafe(4 * chunk.duplicates.length);
    chunk.duplicates.forEach((i, at) => marks.writeUInt32LE(i, 4 * at));
    fields.push('d', marks);
  }
  return fields;
}

/** A chunk read back and checked: its input, lines, the CRLF-ended rows' text, and duplicate flags per row. */
export interface ReadChunk {
  input: number;
  lines: Uint32Array;
  text: Buffer;
  duplicate: Uint8Array;
}

/** Reads an entry's fields as a chunk; a string is why it is not one (the entry is a dead letter). */
export function decodeChunk(fields: ChunkFields): ReadChunk | string {
  if (fields.input === undefined || !/^[1-9]\d{0,9}$/.test(fields.input)) return "no 'n' field (the input number)";
  if (fields.lines === undefined || fields.lines.length === 0 || fields.lines.length % 4 !== 0) return "no 'l' field (the rows' lines, u32 each)";
  if (fields.rows === undefined || fields.rows.length === 0) return "no 'r' field (the rows' text)";
  const count = fields.lines.length / 4;
  const lines = new Uint32Array(count);
  for (let i = 0; i < count; i++) lines[i] = fields.lines.readUInt32LE(4 * i);
  const duplicate = new Uint8Array(count);
  const marks = fields.duplicates;
  if (marks !== undefined) {
    if (marks.length % 4 !== 0) return "the 'd' field is not u32 row indexes";
    for (let at = 0; at < marks.length; at += 4) {
      const i = marks.readUInt32LE(at);
      if (i >= count) return `the 'd' field names row ${i} of ${count}`;
      duplicate[i] = 1;
    }
  }
  return { input: Number(fields.input), lines, text: fields.rows, duplicate };
}
