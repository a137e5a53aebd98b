/**
 * One stream entry holds a chunk of one partition's rows (about 256), as `payrun publish` reads
 * them: the input number (`n`), every row's line (`l`, u32 little-endian each), the rows' raw
 * bytes each followed by CRLF (`r`: a consumer parses them as lines of a file, so a row is decided
 * exactly as `payrun FILE` decides its line), and the indexes of the rows whose tx id an earlier
 * row owns (`d`, u32 each; absent when none). One entry per chunk, not per row, is what keeps
 * Redis's work per row small.
 */
export const CRLF = Buffer.from('\r\n');

/** A chunk as published. */
export interface Chunk {
  input: number;
  lines: number[];
  /** Each row's bytes (no line end). */
  rows: Buffer[];
  /** Indexes into rows of those marked duplicate by the publisher. */
  duplicates: number[];
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
  chunk.lines.forEach((line, i) => lines.writeUInt32LE(line, 4 * i));
  const parts: Buffer[] = [];
  for (const row of chunk.rows) parts.push(row, CRLF);
  const fields: (string | Buffer)[] = ['n', String(chunk.input), 'l', lines, 'r', Buffer.concat(parts)];
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
