import { createEngine } from '../../src/workers/createEngine.js';
import { run } from '../../src/engine/run.js';
import type { RunStats } from '../../src/engine/runStats.js';
import { formatAccounts } from '../../src/io/accountsCsv.js';
import { RejectsCsv } from '../../src/io/rejectsWriter.js';
import { wholeLines } from '../../src/io/wholeLines.js';

export interface CsvRun {
  /** The accounts CSV exactly as payrun prints it. */
  accounts: string;
  /** The --rejects CSV exactly as payrun writes it. */
  rejects: string;
  stats: RunStats;
}

/** Splits input into chunks of `chunkSize` bytes, to exercise lines that straddle chunks. */
async function* chunked(input: Buffer, chunkSize: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < input.length; i += chunkSize) yield input.subarray(i, i + chunkSize);
}

/** Runs the real engine in-process on CSV text (workers 0 = main thread). */
export async function runCsv(input: string | Buffer, options: { workers?: number; chunkSize?: number } = {}): Promise<CsvRun> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const parts: Buffer[] = [];
  const rejects = new RejectsCsv((data) => parts.push(data));
  const result = await run(wholeLines(chunked(bytes, options.chunkSize ?? 1 << 20)), {
    engine: await createEngine(options.workers ?? 0),
    onReject: (line, reason, buf, start, end) => rejects.add(line, reason, buf, start, end),
  });
  rejects.end();
  return { accounts: formatAccounts(result.accounts), rejects: Buffer.concat(parts).toString('utf8'), stats: result.stats };
}

/** Builds an input file from data rows (the header is added). */
export function csv(...rows: string[]): string {
  return ['type,client,tx,amount', ...rows].join('\n') + '\n';
}
