import { applyRows } from '../domain/applyRows.js';
import type { Ledger } from '../domain/ledger.js';
import { RejectReason } from '../domain/rejectReason.js';
import { DUPLICATE_FLAG } from '../domain/txType.js';
import type { RowBatch } from '../io/rowBatch.js';
import type { RunStats } from './runStats.js';
import { type RowOrigin, rowEvent } from '../io/rowEvent.js';

/** How the rows of a batch from a message stream differ from lines of a file. */
export interface RowSource {
  /** Where row i came from (default: line base + batch.line[i]). */
  origin?: (i: number) => RowOrigin;
}

/**
 * Decides the rows of a parsed batch in order, as the serial engine does, and makes each row's
 * event right after its decision, so the balances it carries are those after that very row
 * (not after the whole batch). Row i is at line base + batch.line[i].
 * Returns the events, one JSON line per row, each ending in '\n'; counts them into stats.
 */
export function decideRows(ledger: Ledger, batch: RowBatch, base: number, stats: RunStats, source: RowSource = {}): string {
  const events = decideRowEvents(ledger, batch, base, stats, source);
  events.push('');
  return events.join('\n');
}

/** decideRows' events as a list, one JSON string per row (no line ends). */
export function decideRowEvents(ledger: Ledger, batch: RowBatch, base: number, stats: RunStats, source: RowSource = {}): string[] {
  const { type, client, tx, amount, line, start, end, buf } = batch;
  const { origin } = source;
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const row = { type: 0, client: 0, tx: 0, amount: 0, reason: RejectReason.None as RejectReason };
  const events: string[] = [];
  applyRows(ledger, batch, (i, outcome) => {
    row.type = type[i]! & ~DUPLICATE_FLAG;
    row.client = client[i]!;
    row.tx = tx[i]!;
    row.amount = amount[i]!;
    row.reason = outcome;
    if (outcome !== RejectReason.None) {
      stats.rejected++;
      stats.byReason[outcome]!++;
    }
    events.push(rowEvent(origin ? origin(i) : { line: base + line[i]! }, row, ledger, bytes.toString('utf8', start[i]!, end[i]!)));
  });
  stats.rows += batch.count;
  stats.applied = stats.rows - stats.rejected;
  return events;
}
