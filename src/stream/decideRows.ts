import type { Ledger } from '../domain/ledger.js';
import { RejectReason } from '../domain/rejectReason.js';
import type { RowBatch } from '../io/rowBatch.js';
import type { RunStats } from '../engine/runStats.js';
import { rowEvent } from './rowEvent.js';

/**
 * Decides the rows of a parsed batch in order, as `decide()` of the serial engine does, and
 * makes each row's event right after its decision, so the balances it carries are those after
 * that very row (not after the whole batch). Row i is at line base + batch.line[i].
 * Returns the events, one JSON line per row, each ending in '\n'; counts them into stats.
 */
export function decideRows(ledger: Ledger, batch: RowBatch, base: number, stats: RunStats): string {
  const { reason, type, client, tx, amount, line, start, end, buf } = batch;
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const row = { type: 0, client: 0, tx: 0, amount: 0, reason: 0 };
  const events: string[] = [];
  for (let i = 0; i < batch.count; i++) {
    if (reason[i] === RejectReason.None) reason[i] = ledger.apply(type[i]!, client[i]!, tx[i]!, amount[i]!, false);
    row.type = type[i]!;
    row.client = client[i]!;
    row.tx = tx[i]!;
    row.amount = amount[i]!;
    row.reason = reason[i]!;
    if (row.reason !== RejectReason.None) {
      stats.rejected++;
      stats.byReason[row.reason]!++;
    }
    events.push(rowEvent({ line: base + line[i]! }, row, ledger, bytes.toString('utf8', start[i]!, end[i]!)));
  }
  stats.rows += batch.count;
  stats.applied = stats.rows - stats.rejected;
  events.push('');
  return events.join('\n');
}
