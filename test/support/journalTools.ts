// Helpers for the --journal integration tests: run the real binary, list a journal's records
// from its bytes (an independent reading of the documented frame), and damage files.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { expect } from 'vitest';
import { BIN, ROOT } from './builtBinary.js';

const RUN_TIMEOUT_MS = 30_000;

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/payrun ...args` to completion. */
export function payrun(args: string[], cwd = ROOT): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, input: '', timeout: RUN_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8') };
}

/** A run that must succeed: its stdout. */
export function accountsOf(args: string[]): string {
  const r = payrun(args);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

export const Kind = { Start: 1, InputBegin: 2, Batch: 3, InputEnd: 4, Snapshot: 5 } as const;

export interface RecordInfo {
  offset: number;
  /** Frame and payload. */
  bytes: number;
  kind: number;
  seq: number;
  /** The JSON payload of every record but Batch. */
  json?: Record<string, unknown>;
  /** A Batch's input and row count. */
  input?: number;
  rows?: number;
}

/** The records of a sound journal file, read from its documented layout (not with payrun's reader). */
export function listRecords(path: string): RecordInfo[] {
  const b = readFileSync(path);
  const records: RecordInfo[] = [];
  for (let p = 0; p < b.length; ) {
    expect(b.toString('latin1', p, p + 4), `magic at ${p}`).toBe('JRNL');
    const length = b.readUInt32LE(p + 4);
    expect(length % 8).toBe(0);
    const kind = b.readUInt8(p + 12);
    const record: RecordInfo = { offset: p, bytes: 24 + length, kind, seq: b.readUInt32LE(p + 16) + b.readUInt32LE(p + 20) * 2 ** 32 };
    if (kind === Kind.Batch) {
      record.input = b.readUInt32LE(p + 24);
      record.rows = b.readUInt32LE(p + 28);
    } else {
      const json = b.readUInt32LE(p + 24);
      record.json = JSON.parse(b.toString('utf8', p + 28, p + 28 + json)) as Record<string, unknown>;
    }
    records.push(record);
    p += record.bytes;
  }
  return records;
}

/** Flips bits of one byte of a file. */
export function flipByte(path: string, at: number, mask = 0x5a): void {
  const bytes = readFileSync(path);
  if (at < 0 || at >= bytes.length) throw new RangeError(`byte ${at} is outside ${path}`);
  bytes[at]! ^= mask;
  writeFileSync(path, bytes);
}

/** Inserts a copy of the record at `record.offset` right after it. */
export function duplicateRecord(path: string, record: RecordInfo): void {
  const b = readFileSync(path);
  const end = record.offset + record.bytes;
  writeFileSync(path, Buffer.concat([b.subarray(0, end), b.subarray(record.offset, end), b.subarray(end)]));
}

/** Re-seals a record's CRC after its bytes were edited (a tampering that the frame check cannot see). */
export function resealRecord(path: string, record: RecordInfo, edit: (payload: Buffer) => void): void {
  const b = readFileSync(path);
  const frame = b.subarray(record.offset, record.offset + record.bytes);
  edit(frame.subarray(24));
  frame.writeUInt32LE(crc32(frame.subarray(12), crc32(frame.subarray(0, 8))), 8);
  writeFileSync(path, b);
}

/** The batch payload's reason column and rows, to edit a decision: [u32 input][u32 rows][4 f64][u32][u32] then columns. */
export function reasonColumnOffset(rows: number): number {
  return 48 + rows * (8 + 4 + 4 + 4 + 2 + 1);
}

export function typeColumnOffset(rows: number): number {
  return 48 + rows * (8 + 4 + 4 + 4 + 2);
}

/** stderr's lines. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** A refused run: exit 1, no accounts, its last stderr line the one `payrun: journal '...' is damaged` line, no stack trace. */
export function expectRefused(r: Run, dir: string): string {
  expect(r.status, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toMatch(/\n\s+at |node:internal/);
  const damaged = lines(r.stderr).filter((line) => line.includes('is damaged'));
  expect(damaged).toHaveLength(1);
  expect(damaged[0]!.startsWith(`payrun: journal '${dir}' is damaged`)).toBe(true);
  expect(lines(r.stderr).at(-1)).toBe(damaged[0]);
  return damaged[0]!;
}

/** A CSV's header and data lines; split into parts of the given numbers of data lines, each with the header. */
export function splitCsv(text: string, counts: number[]): string[] {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  const [header, ...rows] = all;
  const parts: string[] = [];
  let at = 0;
  for (const count of counts) {
    parts.push([header, ...rows.slice(at, at + count)].join('\n') + '\n');
    at += count;
  }
  if (at !== rows.length) throw new Error(`the counts cover ${at} rows of ${rows.length}`);
  return parts;
}
