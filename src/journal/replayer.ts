import { applyRows, type RowColumns } from '../domain/applyRows.js';
import { Ledger } from '../domain/ledger.js';
import { namesAccount, REASON_CODES, REASON_COUNT, RejectReason } from '../domain/rejectReason.js';
import { DUPLICATE_FLAG } from '../domain/txType.js';
import { type JournalBatch, readBatchPayload } from './batchRecord.js';
import type { AbandonedInputs } from './abandonedInputs.js';
import {
  FORMAT_VERSION,
  type InputAbandonPayload,
  type InputBeginPayload,
  type InputEndPayload,
  type JournalRecord,
  type OutboxPayload,
  readJsonPayload,
  RecordKind,
  type StartPayload,
} from './format.js';
import { evolveInputs, type InputEntry, unfinishedInput } from './inputs.js';

/** Stop a replay inside the batches of one input, after a given line (`journal replay --until-line`). */
export interface LineLimit {
  input: number;
  line: number;
}

/**
 * Rebuilds the ledger from journal records, in order, and checks them as it goes: sequence,
 * the shape of inputs and batches, and that every row, decided again by the Ledger, gets the
 * outcome the journal recorded. The journal stores decisions, not just rows, so a replay that
 * disagrees with it is proof of damage or of a changed engine, never silently accepted.
 * `abandoned` (read ahead, abandonedInputs.ts) are the inputs whose batches it skips: their
 * InputAbandon record comes after them, and the ledger cannot take rows back.
 */
export class Replayer {
  /** The last record applied. */
  seq: number;
  readonly problems: string[] = [];
  rows = 0;

  constructor(
    readonly ledger: Ledger = new Ledger(),
    readonly inputs: InputEntry[] = [],
    seq = 0,
    private readonly abandoned: AbandonedInputs = new Set(),
  ) {
    this.seq = seq;
  }

  /** Applies one record; whatever is wrong with it is added to problems (with its seq). */
  apply(record: JournalRecord, limit?: LineLimit): void {
    const problem = (what: string): void => {
      this.problems.push(`record ${record.seq} at byte ${record.offset}: ${what}`);
    };
    if (record.seq !== this.seq + 1) problem(`out of sequence: expected record ${this.seq + 1} (a record repeated, missing or moved)`);
    this.seq = record.seq;
    try {
      switch (record.kind) {
        case RecordKind.Start: {
          const start = readJsonPayload<StartPayload>(record.payload);
          if (record.seq !== 1) problem('a journal start record in the middle of the journal');
          if (start.format !== FORMAT_VERSION) problem(`journal format ${start.format}; this payrun reads format ${FORMAT_VERSION}`);
          return;
        }
        case RecordKind.InputBegin: {
          const begin = readJsonPayload<InputBeginPayload>(record.payload);
          const open = unfinishedInput(this.inputs);
          if (open) problem(`input ${begin.input} begins while input ${open.index} ('${open.name}') is unfinished`);
          if (begin.input !== this.inputs.length) problem(`input numbered ${begin.input}, expected ${this.inputs.length}`);
          evolveInputs(this.inputs, { type: 'begin', begin, offset: record.offset });
          return;
        }
        case RecordKind.Batch:
          this.applyBatch(record, problem, limit);
          return;
        case RecordKind.InputEnd: {
          const end = readJsonPayload<InputEndPayload>(record.payload);
          const open = unfinishedInput(this.inputs);
          if (open === undefined || open.index !== end.input) {
            problem(`end of input ${end.input}, which is not the unfinished one`);
            return;
          }
          if (end.rows !== open.rows) problem(`input ${end.input} ends with ${end.rows} rows, its batches hold ${open.rows}`);
          evolveInputs(this.inputs, { type: 'end', end });
          return;
        }
        case RecordKind.InputAbandon:
          this.applyAbandon(readJsonPayload<InputAbandonPayload>(record.payload), problem);
          return;
        case RecordKind.Snapshot:
          return;
        case RecordKind.Outbox: {
          const outbox = readJsonPayload<OutboxPayload>(record.payload);
          const open = unfinishedInput(this.inputs);
          if (open === undefined || open.index !== outbox.input) {
            problem(`an outbox of input ${outbox.input}, which is not the unfinished one`);
            return;
          }
          evolveInputs(this.inputs, { type: 'outbox', input: outbox.input, seq: record.seq, offset: record.offset, lastId: outbox.lastId });
          return;
        }
        default:
          problem(`unknown record kind ${record.kind}`);
      }
    } catch (error) {
      problem(`unreadable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private applyAbandon(abandon: InputAbandonPayload, problem: (what: string) => void): void {
    const open = unfinishedInput(this.inputs);
    if (open === undefined || open.index !== abandon.input) {
      problem(`abandon of input ${abandon.input}, which is not the unfinished one`);
      return;
    }
    if (abandon.rows !== open.rows) problem(`input ${abandon.input} is abandoned with ${abandon.rows} rows, its batches hold ${open.rows}`);
    // A replayer that did not read ahead has applied the input's rows: its ledger is not the journal's.
    if (!this.abandoned.has(abandon.input) && open.rows > 0) problem(`input ${abandon.input} is abandoned, but its rows were replayed (the abandon was not read ahead)`);
    evolveInputs(this.inputs, { type: 'abandon', abandon });
  }

  private applyBatch(record: JournalRecord, problem: (what: string) => void, limit?: LineLimit): void {
    const batch = readBatchPayload(record.payload);
    const input = unfinishedInput(this.inputs);
    if (input === undefined || input.index !== batch.input) {
      problem(`a batch of input ${batch.input}, which is not the unfinished one`);
      return;
    }
    if (batch.offset !== input.nextOffset || batch.base < input.nextLine) {
      problem(`batch starts at byte ${batch.offset} (line ${batch.base}), input ${input.index} was at byte ${input.nextOffset} (line ${input.nextLine})`);
    }
    const { reason: recorded, line } = batch;
    if (this.abandoned.has(input.index)) {
      // Given up later in the journal: its rows never reach the ledger, its place is still followed.
      let rejected = 0;
      for (let r = 0; r < batch.rows; r++) if (recorded[r] !== RejectReason.None) rejected++;
      evolveInputs(this.inputs, { type: 'batch', input: input.index, rows: batch.rows, rejected, nextOffset: batch.nextOffset, nextLine: batch.nextLine });
      return;
    }
    const stopAt = limit && limit.input === input.index ? limit.line - batch.base : Infinity;
    const upstreamOwnership = input.kind === 'partition';
    let i = 0;
    while (i < batch.rows && line[i]! <= stopAt) i++;
    let rejected = 0;
    applyRows(this.ledger, undecided(batch, i, upstreamOwnership), (r, replayed) => {
      if (recorded[r] !== RejectReason.None) rejected++;
      if (replayed !== recorded[r]) {
        problem(`line ${batch.base + line[r]!}: replay decides ${REASON_CODES[replayed]}, the journal says ${REASON_CODES[recorded[r]!] ?? recorded[r]}`);
      }
    });
    this.rows += i;
    // Stopped inside this batch (a line limit): the input is as far as the limit line.
    const whole = i === batch.rows;
    evolveInputs(this.inputs, {
      type: 'batch',
      input: input.index,
      rows: i,
      rejected,
      nextOffset: whole ? batch.nextOffset : input.nextOffset,
      nextLine: whole ? batch.nextLine : limit!.line,
    });
  }
}

/**
 * The first `count` rows of a journaled batch as they were before they were decided: only the
 * row-shape codes (those rows never reached the ledger), and the duplicates that the publisher
 * decided upstream flagged. A code this payrun does not know is decided again, and so reported.
 */
function undecided(batch: JournalBatch, count: number, upstreamOwnership: boolean): RowColumns {
  const type = batch.type.slice(0, count);
  const reason = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const recorded = batch.reason[i]!;
    if (recorded < REASON_COUNT && !namesAccount(recorded as RejectReason)) reason[i] = recorded;
    else if (upstreamOwnership && recorded === RejectReason.DuplicateTx) type[i] = type[i]! | DUPLICATE_FLAG;
  }
  return { count, type, client: batch.client, tx: batch.tx, amount: batch.amount, reason };
}
