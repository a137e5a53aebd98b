import { RejectReason } from '../domain/rejectReason.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import { HeaderReader } from '../io/lineParser.js';
import type { RowBatch } from '../io/rowBatch.js';
import type { Engine } from './engine.js';
import { RunStats } from './runStats.js';

/** Receives every rejected row, in file order, with its original bytes buf[start, end). */
export type RejectSink = (line: number, reason: RejectReason, buf: Uint8Array, start: number, end: number) => void;

export interface RunOptions {
  engine: Engine;
  onReject?: RejectSink;
  /** Stop at the first rejected row (after passing it to onReject): `--strict`. */
  strict?: boolean;
  onProgress?: (stats: RunStats) => void;
}

export interface RunResult {
  accounts: AccountBalances;
  stats: RunStats;
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
  bytes: number;
}

/**
 * The whole engine as a straight line: chunks of whole lines (see wholeLines, fileChunks) →
 * header → engine (parse, decide) → rejects in file order, progress → final accounts.
 * A chunk may be reused by the source once the next one is asked for.
 */
export async function run(lines: AsyncIterable<Buffer>, options: RunOptions): Promise<RunResult> {
  const { engine, onReject, strict = false, onProgress } = options;
  const header = new HeaderReader();
  const stats = new RunStats();
  const pending: Pending[] = [];
  let lineBase = 0;

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
    engine.release(batch);
    onProgress?.(stats);
  };

  try {
    for await (const chunk of lines) {
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
      pending.push({ batch, skippedLines, bytes: chunk.length });
      while (pending.length >= engine.depth) await report();
    }
    while (pending.length > 0) await report();
  } catch (error) {
    await engine.abort();
    throw error;
  }
  return { accounts: await engine.finish(), stats };
}
