/** One input file the journal has seen, as the records so far describe it. */
export interface InputEntry {
  /** 0-based, in the order the inputs were started. */
  index: number;
  sha256: string;
  size: number;
  /** The name it was first run under (files are recognised by content, not by name). */
  name: string;
  /** Journal offset of its InputBegin record (where its rejected rows can be read back from). */
  journalOffset: number;
  complete: boolean;
  /** Where the input goes on: byte offset and lines read (header and blank lines included). */
  nextOffset: number;
  nextLine: number;
  rows: number;
  rejected: number;
  /** A message stream's input: its last Outbox record (where the stream is, and the events last relayed). */
  outbox?: { seq: number; offset: number; lastId: string };
}

/** Inputs that are message streams, not files, carry this prefix instead of a SHA-256. */
export const STREAM_INPUT = 'stream:';

/**
 * A partition of a cluster (`payrun consume`): a stream input whose tx-id ownership was decided
 * upstream by the publisher, across all partitions, so a recorded DUPLICATE_TX is a given that
 * the partition's own ledger cannot re-derive.
 */
export const PARTITION_INPUT = `${STREAM_INPUT}partition:`;

/** The one input begun and not yet complete, if any (only the last can be). */
export function unfinishedInput(inputs: readonly InputEntry[]): InputEntry | undefined {
  const last = inputs[inputs.length - 1];
  return last !== undefined && !last.complete ? last : undefined;
}
