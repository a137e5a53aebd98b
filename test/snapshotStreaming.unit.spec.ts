// Snapshots are read a section at a time (SnapshotReader): recovery streams one into a ledger
// sized from its count, and verify compares one with the replayed ledger entry by entry, so
// neither holds the file or a second state. These check that streaming reads what the whole-file
// decoder read, finds every kind of difference, and that verify still passes and fails as before
// on a journal with several snapshots.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BookComparison } from '../src/domain/bookComparison.js';
import { Ledger } from '../src/domain/ledger.js';
import { type LedgerState, stateDifference } from '../src/domain/ledgerState.js';
import { RejectReason } from '../src/domain/rejectReason.js';
import { TxType } from '../src/domain/txType.js';
import { parseLines } from '../src/io/lineParser.js';
import { RowBatch, rowCapacityFor } from '../src/io/rowBatch.js';
import type { InputEntry } from '../src/journal/inputs.js';
import { Journal } from '../src/journal/journal.js';
import { encodeSnapshot, writeSnapshotFile } from '../src/journal/snapshotFile.js';
import { SnapshotReader } from '../src/journal/snapshotReader.js';
import { verifyJournal } from '../src/journal/verify.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

/** A ledger with `deposits` deposits over 50 clients, some disputed, one withdrawal per 7 and a rejected one. */
function filledLedger(deposits: number): Ledger {
  const ledger = new Ledger();
  for (let i = 0; i < deposits; i++) ledger.apply(TxType.Deposit, i % 50, 1_000 + i, 10_000 * (1 + (i % 9)), false);
  for (let i = 0; i < deposits; i += 7) ledger.apply(TxType.Withdrawal, i % 50, 5_000_000 + i, 1, false);
  for (let i = 0; i < deposits; i += 11) ledger.apply(TxType.Dispute, i % 50, 1_000 + i, 0, false);
  ledger.apply(TxType.Withdrawal, 3, 9_999_999, 1e15, false);
  return ledger;
}

const inputs: InputEntry[] = [
  { kind: 'file', index: 0, sha256: 'ab'.repeat(32), size: 99, name: 'day1.csv', rows: 7, rejected: 1, nextOffset: 99, nextLine: 8, complete: true, journalOffset: 64 },
];

function written(state: LedgerState): string {
  dir ||= mkdtempSync(join(tmpdir(), 'payrun-snapshot-stream-'));
  return writeSnapshotFile(dir, { seq: 5, journalOffset: 640, inputs, state }, false).file;
}

function differenceOf(file: string, ledger: Ledger): string | undefined {
  const reader = SnapshotReader.open(dir, file);
  try {
    return reader.difference(ledger);
  } finally {
    reader.close();
  }
}

describe('SnapshotReader', () => {
  it('the file written a section at a time is the bytes encodeSnapshot makes, and streams back into the same ledger (more entries than one read holds)', () => {
    const ledger = filledLedger(150_000);
    const state = ledger.exportState();
    const file = written(state);
    expect(readFileSync(join(dir, file)).equals(encodeSnapshot({ seq: 5, journalOffset: 640, inputs, state }))).toBe(true);
    const reader = SnapshotReader.open(dir, file);
    try {
      expect(reader.header).toEqual({ seq: 5, journalOffset: 640, txs: state.txAmounts.length });
      const loaded = reader.loadLedger(10);
      expect(stateDifference(loaded.exportState(), state)).toBeUndefined();
      expect(reader.inputs()).toEqual(inputs);
      expect(reader.sameInputs(inputs)).toBe(true);
      expect(reader.difference(ledger)).toBeUndefined();
    } finally {
      reader.close();
    }
    // The comparison took its marks off again: the ledger is as it was.
    expect(stateDifference(ledger.exportState(), state)).toBeUndefined();
  });

  it('an empty ledger round-trips (its CRC too: zlib gives 0 for an empty section)', () => {
    const file = written(new Ledger().exportState());
    expect(differenceOf(file, new Ledger())).toBeUndefined();
  });

  it('finds an account, an amount, a state, a missing entry and an entry saved twice', () => {
    const ledger = filledLedger(1_000);
    const changed = (change: (state: LedgerState) => void): string => {
      const state = ledger.exportState();
      change(state);
      return written(state);
    };
    expect(differenceOf(changed((s) => (s.held[7] = 1)), ledger)).toBe('client 7 differs');
    const tx = ledger.exportState().txKeys[20]!;
    expect(differenceOf(changed((s) => (s.txAmounts[10] = 3)), ledger)).toBe(`transaction ${tx} differs`);
    expect(differenceOf(changed((s) => (s.txKeys[21] = s.txKeys[21]! ^ 1)), ledger)).toBe(`transaction ${tx} differs`);
    expect(differenceOf(changed((s) => (s.txKeys[20] = 77)), ledger)).toBe('transaction 77 differs');
    const twice = changed((s) => {
      s.txKeys[20] = s.txKeys[22]!;
      s.txKeys[21] = s.txKeys[23]!;
      s.txAmounts[10] = s.txAmounts[11]!;
    });
    expect(differenceOf(twice, ledger)).toBe(`transaction ${ledger.exportState().txKeys[22]} differs`);
    const fewer = ledger.exportState();
    const shorter = written({ ...fewer, txKeys: fewer.txKeys.slice(2), txAmounts: fewer.txAmounts.slice(1) });
    expect(differenceOf(shorter, ledger)).toBe(`${fewer.txAmounts.length - 1} transactions against ${fewer.txAmounts.length}`);
    // Every comparison took its marks off.
    expect(differenceOf(written(ledger.exportState()), ledger)).toBeUndefined();
  });

  it('refuses a damaged file as the whole-file decoder did', () => {
    const file = written(filledLedger(100).exportState());
    const bytes = readFileSync(join(dir, file));
    const path = join(dir, file);
    const flipped = Buffer.from(bytes);
    flipped[200_000] = flipped[200_000]! ^ 1;
    writeFileSync(path, flipped);
    expect(() => SnapshotReader.open(dir, file)).toThrow(/checksum mismatch/);
    writeFileSync(path, bytes.subarray(0, 40));
    expect(() => SnapshotReader.open(dir, file)).toThrow(/not a payrun snapshot/);
  });
});

describe('TxBook pieces', () => {
  it('eachPiece and drain give every entry once, in entries() order; drain empties the book and lets go of each segment', () => {
    const ledger = filledLedger(100_000);
    const { txKeys, txAmounts } = ledger.exportState();
    const keys = new Uint32Array(2 * 7_000);
    const amounts = new Float64Array(7_000);
    const collect = (pieces: (visit: (count: number) => void) => void): { keys: number[]; amounts: number[] } => {
      const got = { keys: [] as number[], amounts: [] as number[] };
      pieces((count) => {
        got.keys.push(...keys.subarray(0, 2 * count));
        got.amounts.push(...amounts.subarray(0, count));
      });
      return got;
    };
    const expected = { keys: [...txKeys], amounts: [...txAmounts] };
    expect(collect((visit) => ledger.book.eachPiece(keys, amounts, visit))).toEqual(expected);
    let discarded = 0;
    const drained = collect((visit) => {
      for (const count of ledger.book.drain(keys, amounts, (buffers) => (discarded += buffers.length))) visit(count);
    });
    expect(drained).toEqual(expected);
    expect(discarded).toBe(64); // one buffer a segment: no amount here needs a wide array
    expect(ledger.book.size).toBe(0);
    expect(ledger.book.find(txKeys[0]!)).toBe(-1);
    expect(ledger.book.claim(txKeys[0]!, 1)).toBeGreaterThanOrEqual(0);
  });
});

describe('BookComparison', () => {
  it('counts, then each entry once', () => {
    const ledger = filledLedger(10);
    const { txKeys, txAmounts } = ledger.exportState();
    const comparison = new BookComparison(ledger);
    expect(comparison.count(txAmounts.length + 1)).toBe(`${txAmounts.length + 1} transactions against ${txAmounts.length}`);
    expect(comparison.entries(txKeys, txAmounts, txAmounts.length - 1)).toBeUndefined();
    expect(comparison.finish(txAmounts.length)).toBe(`${txAmounts.length - 1} of ${txAmounts.length} transactions compared`);
  });
});

describe('journal verify with several snapshots', () => {
  /** A journal of `days` inputs of 400 rows each, a snapshot after each; `wrong` snapshots a state one amount off after that day. */
  async function journalOf(days: number, wrong?: number): Promise<void> {
    dir = mkdtempSync(join(tmpdir(), 'payrun-verify-snapshots-'));
    const journal = Journal.open(dir, { fsync: 'off', warn: () => {} });
    const ledger = journal.takeRecovered();
    for (let day = 0; day < days; day++) {
      const rows = Array.from({ length: 400 }, (_, i) => {
        const tx = day * 1_000 + i + 1;
        return i % 10 === 9 ? `dispute,${i % 13},${tx - 9},` : `deposit,${i % 13},${tx},${(i % 5) + 1}.5`;
      });
      const text = Buffer.from(rows.map((row) => `${row}\n`).join(''));
      const batch = new RowBatch(rowCapacityFor(text.length));
      parseLines(text, 0, text.length, batch);
      for (let i = 0; i < batch.count; i++) {
        if (batch.reason[i] === RejectReason.None) batch.reason[i] = ledger.apply(batch.type[i]!, batch.client[i]!, batch.tx[i]!, batch.amount[i]!, false);
      }
      const input = journal.begin(`${day}`.padStart(64, '0'), text.length, `day${day + 1}.csv`);
      journal.append(input, batch, { offset: 0, base: 0, nextOffset: text.length, nextLine: batch.lines });
      journal.end(input);
      const state = ledger.exportState();
      if (day === wrong) state.txAmounts[3] = state.txAmounts[3]! + 1;
      journal.snapshot(state);
    }
    await journal.close();
  }

  it('checks every snapshot the journal still names and passes', async () => {
    await journalOf(4);
    const report = verifyJournal(dir);
    expect(report.problems).toEqual([]);
    expect(report.summary[0]).toMatch(/4 inputs, 2 snapshots checked/);
  });

  it('reports a snapshot whose state is not the replayed one (its checksum recorded, so only the comparison finds it)', async () => {
    await journalOf(4, 3);
    const report = verifyJournal(dir);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(/^snapshot snapshot-\d{12}\.bin \(record \d+\): its state is not the journal's replayed state: transaction \d+ differs$/);
  });
});
