import type { InputAbandonPayload, InputBeginPayload, InputEndPayload } from './format.js';
import { type InputKind, inputKindOf } from './inputKind.js';

/** One input the journal has seen, as the records so far describe it. */
export interface InputEntry {
  /** 0-based, in the order the inputs were started. */
  index: number;
  kind: InputKind;
  /** The input's id: a file's SHA-256, a stream's `stream:...` name. */
  sha256: string;
  size: number;
  /** The name it was first run under (files are recognised by content, not by name). */
  name: string;
  /** Journal offset of its InputBegin record (where its rejected rows can be read back from). */
  journalOffset: number;
  complete: boolean;
  /**
   * Given up (`payrun journal abandon`): none of its rows is in the ledger. It is also complete
   * (nothing goes on with it), and a run of its content begins it anew.
   */
  abandoned?: boolean;
  /** Where the input goes on: byte offset and lines read (header and blank lines included). */
  nextOffset: number;
  nextLine: number;
  rows: number;
  rejected: number;
  /** A message stream's input: its last Outbox record (where the stream is, and the events last relayed). */
  outbox?: { seq: number; offset: number; lastId: string };
}

/** What a record does to the inputs (a Start or Snapshot record does nothing to them). */
export type InputEvent =
  | { type: 'begin'; begin: InputBeginPayload; offset: number }
  | { type: 'batch'; input: number; rows: number; rejected: number; nextOffset: number; nextLine: number }
  | { type: 'end'; end: InputEndPayload }
  | { type: 'abandon'; abandon: InputAbandonPayload }
  | { type: 'outbox'; input: number; seq: number; offset: number; lastId: string };

/**
 * The one way the input list changes: the journal's writer calls it for every record it appends,
 * the replayer (recovery, verify, replay) for every record it reads, so both always agree. An
 * event for an input that is not the unfinished one changes nothing (the replayer reports it).
 * The open entry is updated in place: its holders (a run's session) see it go on.
 */
export function evolveInputs(inputs: InputEntry[], event: InputEvent): InputEntry[] {
  if (event.type === 'begin') {
    const { sha256, size, name, from } = event.begin;
    const nextOffset = from?.offset ?? 0;
    const nextLine = from?.line ?? 0;
    inputs.push({ index: inputs.length, kind: inputKindOf(sha256), sha256, size, name, journalOffset: event.offset, complete: false, nextOffset, nextLine, rows: 0, rejected: 0 });
    return inputs;
  }
  const open = unfinishedInput(inputs);
  const index = event.type === 'end' ? event.end.input : event.type === 'abandon' ? event.abandon.input : event.input;
  if (open === undefined || open.index !== index) return inputs;
  switch (event.type) {
    case 'batch':
      open.rows += event.rows;
      open.rejected += event.rejected;
      open.nextOffset = event.nextOffset;
      open.nextLine = event.nextLine;
      break;
    case 'end':
      open.complete = true;
      break;
    case 'abandon':
      open.complete = true;
      open.abandoned = true;
      break;
    case 'outbox':
      open.outbox = { seq: event.seq, offset: event.offset, lastId: event.lastId };
      break;
  }
  return inputs;
}

/** The one input begun and not yet complete, if any (only the last can be). */
export function unfinishedInput(inputs: readonly InputEntry[]): InputEntry | undefined {
  const last = inputs[inputs.length - 1];
  return last !== undefined && !last.complete ? last : undefined;
}

/**
 * Inputs as a snapshot stores them (format 1: the kind is not stored, the id carries it; `abandoned`
 * only when true, so snapshots of journals without an abandon are as they were).
 */
export function storedInputs(inputs: readonly InputEntry[]): unknown[] {
  return inputs.map(({ index, sha256, size, name, journalOffset, complete, abandoned, nextOffset, nextLine, rows, rejected, outbox }) => ({
    index,
    sha256,
    size,
    name,
    journalOffset,
    complete,
    ...(abandoned === true ? { abandoned } : {}),
    nextOffset,
    nextLine,
    rows,
    rejected,
    ...(outbox === undefined ? {} : { outbox: { seq: outbox.seq, offset: outbox.offset, lastId: outbox.lastId } }),
  }));
}

/** Inputs read back from a snapshot, each with its kind. */
export function loadedInputs(stored: readonly Omit<InputEntry, 'kind'>[]): InputEntry[] {
  return stored.map((input) => ({ ...input, kind: inputKindOf(input.sha256) }));
}
