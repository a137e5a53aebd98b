import { type RejectSink } from '../io/rejectsWriter.js';
import { type BatchPlace } from '../io/rowBatch.js';
import type { SnapshotState } from '../domain/ledgerState.js';
import { RejectReason } from '../domain/rejectReason.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import { InputError } from '../io/inputError.js';
import { HeaderReader } from '../io/lineParser.js';
import type { RowBatch } from '../io/rowBatch.js';
import type { Engine } from './engine.js';
import { RunStats } from './runStats.js';

export interface RunOptions {
  engine: Engine;
  onReject?: RejectSink;
  /** Stop at the first rejected row (after passing it to onReject): `--strict`. */
  strict?: boolean;
  onProgress?: (stats: RunStats) => void;
  /**
   * Resuming: the input starts at this byte offset, after this many lines, past the header.
   * Offsets and lines reported are the input's own, not counted from here.
   */
  start?: { offset: number; line: number };
  /** Every batch once decided, in file order, after its rejects (the journal's commit point). */
  onBatch?: (batch: RowBatch, place: BatchPlace) => void;
  /**
   * Checkpoints (journal snapshots): when due() says so, no more input is read until every
   * outstanding batch is reported; then take() may ask for the engine's state at that boundary.
   * take() is also called once at the end ('end', or 'stopped' after shouldStop), before the
   * engine finishes.
   */
  checkpoint?: {
    due: (stats: RunStats) => boolean;
    take: (state: () => Promise<SnapshotState>, when: 'due' | 'end' | 'stopped') => void | Promise<void>;
  };
  /** Asked before each chunk is read: true ends the run early, every batch read so far reported. */
  shouldStop?: () => boolean;
}

export interface RunResult {
  accounts: AccountBalances;
  stats: RunStats;
  /** The run ended early because shouldStop said so. */
  stopped: boolean;
}

/** Thrown by run() under `strict` at the first rejected row. */
export class StrictReject extends Error {
  constructor(
    readonly line: number,
    readonly reason: RejectReason,
  ) {
    super('row rejected under --strict');
  }
}

interface Pending {
  batch: RowBatch | Promise<RowBatch>;
  /** Lines of this chunk before its first data row (BOM, blank lines, the header). */
  skippedLines: number;
  offset: number;
  bytes: number;
}

/**
 * The whole engine as a straight line: chunks of whole lines (see wholeLines, fileChunks) →
 * header → engine (parse, decide) → rejects in file order, progress → final accounts.
 * A chunk may be reused by the source once the next one is asked for.
 */
export async function run(lines: AsyncIterable<Buffer>, options: RunOptions): Promise<RunResult> {
  const { engine, onReject, strict = false, onProgress, onBatch, checkpoint, shouldStop } = options;
  const header = new HeaderReader();
  const stats = new RunStats();
  const pending: Pending[] = [];
  let lineBase = options.start?.line ?? 0;
  let offset = options.start?.offset ?? 0;
  if (options.start) header.done = true;
  let stopped = false;

  const report = async (): Promise<void> => {
    const head = pending.shift()!;
    const batch = await head.batch;
    const base = lineBase + head.skippedLines;
    const { reason, line, start, end, buf } = batch;
    for (let i = 0; i < batch.count; i++) {
      const r = reason[i]!;
      if (r === RejectReason.None) continue;
      stats.byReason[r]!++;
      stats.rejected++;
      onReject?.(base + line[i]!, r as RejectReason, buf, start[i]!, end[i]!);
      if (strict) throw new StrictReject(base + line[i]!, r as RejectReason);
    }
    stats.rows += batch.count;
    stats.applied = stats.rows - stats.rejected;
    stats.bytes += head.bytes;
    lineBase = base + batch.lines;
    onBatch?.(batch, { offset: head.offset, base, nextOffset: head.offset + head.bytes, nextLine: lineBase });
    engine.release(batch);
    onProgress?.(stats);
  };

  try {
    for await (const chunk of lines) {
      if (shouldStop?.()) {
        stopped = true;
        break;
      }
      let from = 0;
      let skippedLines = 0;
      if (!header.done) {
        const before = header.lines;
        from = header.scan(chunk);
        skippedLines = header.lines - before;
      }
      const batch = engine.submit(chunk, from);
      // A batch that fails is reported by the await in report(), or dropped after a fatal error.
      if (batch instanceof Promise) batch.catch(() => undefined);
      pending.push({ batch, skippedLines, offset, bytes: chunk.length });
      offset += chunk.length;
      while (pending.length >= engine.depth) await report();
      if (checkpoint?.due(stats)) {
        while (pending.length > 0) await report();
        await checkpoint.take(() => engine.snapshot(), 'due');
      }
    }
    while (pending.length > 0) await report();
    await checkpoint?.take(() => engine.snapshot(), stopped ? 'stopped' : 'end');
  } catch (error) {
    const placed = await placeInputError(error, lineBase, pending);
    await engine.abort();
    throw placed;
  }
  return { accounts: await engine.finish(), stats, stopped };
}

/**
 * An input error that came without its line (a line too long, met by the reader before any
 * parser saw it) is placed on the line after every whole line read: those of the batches reported
 * and of those still in flight (decided, not reported: nothing is journaled for them here).
 */
async function placeInputError(error: unknown, lineBase: number, pending: readonly Pending[]): Promise<unknown> {
  if (!(error instanceof InputError) || error.line !== undefined) return error;
  let line = lineBase;
  try {
    for (const head of pending) line += head.skippedLines + (await head.batch).lines;
  } catch {
    return error; // a batch that failed has its own error; this one stays without a place
  }
  return new InputError(error.message, line + 1, error.detail);
}
