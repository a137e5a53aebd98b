import { RejectReason } from '../domain/rejectReason.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import { RowBatch } from '../io/rowBatch.js';
import { RowReader } from '../io/rowReader.js';
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
    super(`row rejected under --strict`);
  }
}

/** How many batches may be with the workers at once: enough to keep every thread busy. */
const IN_FLIGHT = 4;

/** The most chunks run() holds at once; a chunk source may reuse a buffer after this many more. */
export const CHUNKS_HELD = IN_FLIGHT;

/**
 * The whole engine as a straight line: whole-line chunks (see wholeLines, fileChunks) → parsed
 * rows → engine decisions → rejects (in file order) and final accounts.
 */
export async function run(lines: AsyncIterable<Buffer>, options: RunOptions): Promise<RunResult> {
  const { engine, onReject, strict = false, onProgress } = options;
  const reader = new RowReader();
  const stats = new RunStats();
  const inFlight: { batch: RowBatch; done: void | Promise<void> }[] = [];
  const spare: RowBatch[] = [];

  const settle = async (): Promise<void> => {
    const head = inFlight.shift()!;
    await head.done;
    report(head.batch);
    spare.push(head.batch);
  };

  const report = (batch: RowBatch): void => {
    const { reason, line, start, end, buf } = batch;
    stats.rows += batch.count;
    for (let i = 0; i < batch.count; i++) {
      const r = reason[i]!;
      if (r === RejectReason.None) continue;
      stats.byReason[r]!++;
      stats.rejected++;
      onReject?.(line[i]!, r as RejectReason, buf, start[i]!, end[i]!);
      if (strict) throw new StrictReject(line[i]!, r as RejectReason);
    }
    stats.applied = stats.rows - stats.rejected;
    stats.bytes += buf.length;
    onProgress?.(stats);
  };

  try {
    for await (const chunk of lines) {
      const batch = spare.pop() ?? new RowBatch();
      reader.read(chunk, batch);
      inFlight.push({ batch, done: engine.submit(batch) });
      while (inFlight.length >= IN_FLIGHT || (inFlight.length > 0 && inFlight[0]!.done === undefined)) {
        await settle();
      }
    }
    while (inFlight.length > 0) await settle();
  } catch (error) {
    await engine.abort();
    throw error;
  }
  return { accounts: await engine.finish(), stats };
}
