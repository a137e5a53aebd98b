import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REASON_CODES } from '../src/domain/rejectReason.js';
import { referenceRun, splitFields } from '../src/engine/referenceModel.js';
import { generateFile } from '../src/generate/generateFile.js';
import type { GenerateFileOptions } from '../src/generate/generateFile.js';
import { generateLines, TransactionStream } from '../src/generate/generator.js';
import { Prng } from '../src/generate/prng.js';

const dir = mkdtempSync(join(tmpdir(), 'payrun-generator-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
async function generate(opts: Omit<GenerateFileOptions, 'out'>): Promise<{ text: string; bytes: Buffer; rows: number; out: string }> {
  const out = join(dir, `gen-${files++}.csv`);
  const result = await generateFile({ ...opts, out });
  const bytes = readFileSync(out);
  expect(result.bytes).toBe(bytes.length);
  return { text: bytes.toString('utf8'), bytes, rows: result.rows, out };
}

/** Counts by reason, and by `REASON type` (the rejected row's type, lower-cased). */
function reasonCounts(rejectsCsv: string): Map<string, number> {
  const counts = new Map<string, number>();
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const line of rejectsCsv.split('\n').slice(1, -1)) {
    const [, reason = '', ...rest] = line.split(',');
    const quoted = rest.join(',');
    const row = quoted.startsWith('"') ? quoted.slice(1, -1).replace(/""/g, '"') : quoted;
    count(reason);
    count(`${reason} ${(splitFields(row)?.[0] ?? '').toLowerCase()}`);
  }
  return counts;
}

describe('prng', () => {
  it('is reproducible, seed-sensitive and in range', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, ((rng) => () => rng.u32())(new Prng(seed)));
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(2 ** 40)).not.toEqual(draw(0));
    const rng = new Prng(7);
    for (let i = 0; i < 10_000; i++) {
      const n = rng.int(10);
      expect(n >= 0 && n < 10 && Number.isInteger(n)).toBe(true);
    }
  });
});

describe('generateFile', () => {
  it('is byte-for-byte reproducible for a seed, and differs across seeds', async () => {
    const a = await generate({ rows: 5000, clients: 40, seed: 9 });
    const b = await generate({ rows: 5000, clients: 40, seed: 9 });
    const c = await generate({ rows: 5000, clients: 40, seed: 10 });
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(a.bytes.equals(c.bytes)).toBe(false);
  });

  it('writes exactly n data rows after the header, ending with a newline', async () => {
    for (const rows of [0, 1, 7, 12_345]) {
      const { text, rows: written } = await generate({ rows, clients: 3, seed: 1 });
      const lines = text.split('\n');
      expect(written).toBe(rows);
      expect(lines[0]).toBe('type,client,tx,amount');
      expect(lines.length).toBe(rows + 2);
      expect(lines.at(-1)).toBe('');
      expect(lines.slice(1, -1).every((line) => line.trim() !== '')).toBe(true);
    }
  });

  it('matches the pure row source', async () => {
    const opts = { rows: 3000, clients: 25, seed: 5 };
    const { text } = await generate(opts);
    expect(text).toBe(`${[...generateLines(opts)].join('\n')}\n`);
  });

  it.each([1, 2, 3])('produces every reason code in 20k rows (seed %i), all rows accounted for', async (seed) => {
    const { text } = await generate({ rows: 20_000, clients: 200, seed });
    const result = referenceRun(text);
    expect(result.applied + result.rejected).toBe(20_000);
    const counts = reasonCounts(result.rejectsCsv);
    expect([...counts.keys()].filter((key) => !key.includes(' ')).sort()).toEqual(REASON_CODES.slice(1).sort());
    // Both rules that can give OVERFLOW are aimed at.
    expect(counts.get('OVERFLOW deposit')).toBeGreaterThan(0);
    expect(counts.get('OVERFLOW dispute')).toBeGreaterThan(0);
    // Mostly a realistic, valid mix: the odd rows are a small minority.
    const shape = ['MALFORMED_ROW', 'UNKNOWN_TYPE', 'BAD_CLIENT', 'BAD_TX', 'BAD_AMOUNT'].reduce((sum, code) => sum + (counts.get(code) ?? 0), 0);
    expect(shape).toBeLessThan(20_000 * 0.01);
    expect(result.rejected).toBeLessThan(20_000 * 0.2);
  });

  it('uses at most c distinct clients in 0..65535, with the busiest getting many rows', async () => {
    const { text } = await generate({ rows: 20_000, clients: 500, seed: 4 });
    const accounts = referenceRun(text).accountsCsv.split('\n').slice(1, -1).map((line) => Number(line.split(',')[0]));
    expect(accounts.length).toBeGreaterThan(300);
    expect(accounts.length).toBeLessThanOrEqual(500);
    expect(accounts.every((id) => Number.isInteger(id) && id >= 0 && id <= 65_535)).toBe(true);
    expect(accounts).toContain(0);
    expect(accounts).toContain(65_535);
    const perClient = new Map<string, number>();
    for (const line of text.split('\n').slice(1, -1)) perClient.set(line.split(',')[1] ?? '', (perClient.get(line.split(',')[1] ?? '') ?? 0) + 1);
    expect(Math.max(...perClient.values())).toBeGreaterThan(20_000 / 50);
  });

  it('writes the accounts the reference model computes for the file', async () => {
    const expected = join(dir, 'expected.csv');
    const out = join(dir, 'with-expected.csv');
    await generateFile({ rows: 8000, clients: 60, seed: 77, out, expected });
    expect(readFileSync(expected, 'utf8')).toBe(referenceRun(readFileSync(out, 'utf8')).accountsCsv);
  });

  it('writes CRLF line endings and a BOM when asked, with the same accounts', async () => {
    const expected = join(dir, 'expected-crlf-bom.csv');
    const out = join(dir, 'crlf-bom.csv');
    await generateFile({ rows: 2000, clients: 30, seed: 3, crlf: true, bom: true, out, expected });
    const bytes = readFileSync(out);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text.split('\r\n').length).toBe(2002);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/\n/);
    const plain = (await generate({ rows: 2000, clients: 30, seed: 3 })).text;
    expect(text.slice(1).replace(/\r\n/g, '\n')).toBe(plain);
    expect(readFileSync(expected, 'utf8')).toBe(referenceRun(plain).accountsCsv);
  });

  it('keeps row length realistic', async () => {
    const { bytes, rows } = await generate({ rows: 50_000, clients: 5000, seed: 0 });
    expect(bytes.length / rows).toBeGreaterThan(30);
    expect(bytes.length / rows).toBeLessThan(42);
  });

  it('rejects bad options and leaves no file behind', async () => {
    const bad: Omit<GenerateFileOptions, 'out'>[] = [
      { rows: -1, clients: 1, seed: 0 },
      { rows: 1.5, clients: 1, seed: 0 },
      { rows: 10, clients: 0, seed: 0 },
      { rows: 10, clients: 65_537, seed: 0 },
      { rows: 10, clients: 2, seed: Number.NaN },
    ];
    for (const opts of bad) await expect(generateFile({ ...opts, out: join(dir, 'bad.csv') })).rejects.toThrow(/rows|clients|seed/);
    await expect(generateFile({ rows: 10, clients: 1, seed: 0, out: join(dir, 'missing-dir', 'x.csv') })).rejects.toThrow();
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp') || name === 'bad.csv')).toEqual([]);
  });

  it('takes a row count far beyond memory: it is only a counter', () => {
    const rows = new TransactionStream({ rows: 1e12, clients: 65_536, seed: 1 });
    let chars = 0;
    for (let i = 0; i < 100_000; i++) chars += (rows.next() as string).length;
    expect(chars).toBeGreaterThan(100_000 * 20);
  });
});
