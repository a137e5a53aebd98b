import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { applyRows } from '../domain/applyRows.js';
import { AccountFlag, Ledger } from '../domain/ledger.js';
import { namesAccount, REASON_CODES, REASON_COUNT, RejectReason } from '../domain/rejectReason.js';
import { DUPLICATE_FLAG } from '../domain/txType.js';
import { abandonedInputs } from '../journal/abandonedInputs.js';
import { type JournalBatch, readBatchPayload } from '../journal/batchRecord.js';
import { type InputBeginPayload, JOURNAL_FILE, readJsonPayload, RecordKind } from '../journal/format.js';
import { JournalError } from '../journal/journalError.js';
import { JournalReader } from '../journal/journalReader.js';
import type { HistoryRow } from '../io/historyFormat.js';

/**
 * `payrun journal history DIR --client N`: every well-formed row of one client in the journal, in
 * order, each with its recorded outcome and the balances after it, in one pass over the records.
 *
 * Only that client's rows are applied, to a ledger of its own: every rule but DUPLICATE_TX reads
 * the client's own account and transactions alone (another client's id is UNKNOWN_TX whether the
 * ledger holds it or not), and a duplicate is known from the outcome the journal recorded, as the
 * cluster's publisher decides ownership upstream. Each replayed outcome is checked against the
 * recorded one, so a journal this reading disagrees with is reported as damaged, never printed.
 * Other clients' rows cost a look at their client and reason columns and nothing else.
 */
export function* clientHistory(dir: string, client: number): Generator<HistoryRow, void, undefined> {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) throw new JournalError(`no journal in '${dir}'`);
  const ledger = new Ledger();
  const names: string[] = [];
  const rows = new ClientRows();
  // An abandoned input's rows were undone: they are no one's history (its abandon comes after them).
  const abandoned = abandonedInputs(path);
  const reader = new JournalReader(path);
  try {
    for (let record = reader.next(); record !== undefined; record = reader.next()) {
      if (record.kind === RecordKind.InputBegin) {
        const begin = readJsonPayload<InputBeginPayload>(record.payload);
        names[begin.input] = begin.name;
        continue;
      }
      if (record.kind !== RecordKind.Batch) continue;
      const batch = readBatchPayload(record.payload);
      if (abandoned.has(batch.input)) continue;
      if (rows.select(batch, client) === 0) continue;
      const events: HistoryRow[] = [];
      const name = names[batch.input] ?? `input ${batch.input + 1}`;
      applyRows(ledger, rows, (i, outcome) => {
        const r = rows.index[i]!;
        const recorded = batch.reason[r]!;
        if (outcome !== recorded) {
          throw new JournalError(
            `journal '${dir}' is damaged: record ${record.seq}, line ${batch.base + batch.line[r]!}: replay decides ${REASON_CODES[outcome]}, the journal says ${REASON_CODES[recorded] ?? recorded}`,
          );
        }
        events.push({
          input: batch.input + 1,
          name,
          line: batch.base + batch.line[r]!,
          type: batch.type[r]!,
          client,
          tx: batch.tx[r]!,
          amount: batch.amount[r]!,
          reason: outcome,
          available: ledger.available[client]!,
          held: ledger.held[client]!,
          locked: (ledger.flags[client]! & AccountFlag.Locked) !== 0,
        });
      });
      yield* events;
    }
    const ending = reader.ending;
    if (ending.kind === 'damaged') throw new JournalError(`journal '${dir}' is damaged at byte ${ending.offset} (${ending.why})`);
  } finally {
    reader.close();
  }
}

/**
 * The rows of one client in a batch as RowColumns for applyRows, in reused columns: each row as
 * it was before it was decided (well-formed; DUPLICATE_FLAG where the journal says DUPLICATE_TX).
 */
class ClientRows {
  count = 0;
  index = new Int32Array(1024);
  type = new Uint8Array(1024);
  client = new Uint16Array(1024);
  tx = new Uint32Array(1024);
  amount = new Float64Array(1024);
  reason = new Uint8Array(1024);

  select(batch: JournalBatch, client: number): number {
    const { client: clients, reason } = batch;
    let n = 0;
    for (let i = 0; i < batch.rows; i++) {
      if (clients[i] !== client) continue;
      const code = reason[i]!;
      // A row that was not well-formed names no account; a code this payrun does not know is decided again, and so reported.
      if (code < REASON_COUNT && !namesAccount(code as RejectReason)) continue;
      if (n === this.index.length) this.grow();
      this.index[n] = i;
      this.type[n] = code === RejectReason.DuplicateTx ? batch.type[i]! | DUPLICATE_FLAG : batch.type[i]!;
      this.client[n] = client;
      this.tx[n] = batch.tx[i]!;
      this.amount[n] = batch.amount[i]!;
      this.reason[n] = RejectReason.None;
      n++;
    }
    this.count = n;
    return n;
  }

  private grow(): void {
    const size = 2 * this.index.length;
    const larger = <T extends Int32Array | Uint8Array | Uint16Array | Uint32Array | Float64Array>(column: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(column);
      return next;
    };
    this.index = larger(this.index, (n) => new Int32Array(n));
    this.type = larger(this.type, (n) => new Uint8Array(n));
    this.client = larger(this.client, (n) => new Uint16Array(n));
    this.tx = larger(this.tx, (n) => new Uint32Array(n));
    this.amount = larger(this.amount, (n) => new Float64Array(n));
    this.reason = larger(this.reason, (n) => new Uint8Array(n));
  }
}
