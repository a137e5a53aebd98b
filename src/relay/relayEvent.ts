import { createHash } from 'node:crypto';

/** The event types `payrun stream` emits for applied rows (--types chooses among them). */
export const EVENT_TYPES = ['deposit', 'withdrawal', 'dispute', 'resolve', 'chargeback'] as const;

/** An input line that is not an event of `payrun stream`: fatal, with its line. */
export class RelayInputError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** A source the relay cannot go on reading (a Redis events entry that is not what `payrun consume` writes, a followed file that shrank): fatal, exit 1. */
export class RelaySourceError extends Error {}

/** A selected event: its line in the relay's input, its client, and its text (sent as is: amounts stay exact strings). */
export interface SelectedEvent {
  line: number;
  client: number;
  text: string;
  /** The cluster's row id `<input>-<line>` when the event has one (`payrun events`, the Redis source): the key names it rather than `line`. */
  id?: string;
  /** The stream entry it came from and its row's place in it (the Redis source): acknowledged when all of its events are done. */
  entry?: EntryEvent;
}

export interface EntryEvent {
  receipt: EntryReceipt;
  /** The row's index in its entry. */
  index: number;
}

/** One stream entry of the Redis source: acknowledged (XACK) once every selected event in it is delivered or dead-lettered. */
export interface EntryReceipt {
  /** Selected events of the entry not yet done. */
  open: number;
  /** Called once, when open reaches 0. */
  done(): void;
  /** One event of the entry is done (before the last): recorded, so that a re-read entry skips it. */
  mark(index: number): void;
}

/**
 * Reads one NDJSON line of `payrun stream` (src/io/rowEvent.ts): the event when it is applied and
 * of a chosen type, undefined when it is to be skipped (rejected, or another type, or blank).
 */
export function selectEvent(text: string, line: number, types: ReadonlySet<string> | undefined): SelectedEvent | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let event: { result?: unknown; type?: unknown; client?: unknown; id?: unknown };
  try {
    event = JSON.parse(trimmed) as typeof event;
  } catch {
    throw new RelayInputError('not an event of payrun stream (not JSON)', line);
  }
  if (typeof event !== 'object' || event === null || (event.result !== 'applied' && event.result !== 'rejected')) {
    throw new RelayInputError("not an event of payrun stream (no \"result\" of 'applied' or 'rejected')", line);
  }
  if (event.result !== 'applied') return undefined;
  if (typeof event.type !== 'string' || !Number.isInteger(event.client)) throw new RelayInputError('an applied event without a type or client', line);
  if (types !== undefined && !types.has(event.type)) return undefined;
  return typeof event.id === 'string' ? { line, client: event.client as number, text: trimmed, id: event.id } : { line, client: event.client as number, text: trimmed };
}

/** The input's name in every key, by default from its first line: the same input gives the same keys, whatever the state directory. */
export function defaultSourceId(firstLine: string): string {
  return createHash('sha256').update(firstLine.trim()).digest('hex').slice(0, 16);
}

/** One POST: an event, or a batch of up to --batch events (a JSON array). */
export interface Delivery {
  key: string;
  lines: number[];
  clients: number[];
  body: string;
  attempts: number;
  /** The Redis source's entries of its events (one per event); none for a file. */
  entries?: EntryEvent[];
}

/**
 * The Idempotency-Key of a delivery: the source and the input lines it carries, or the rows' ids
 * when the events have one (the cluster's `<input>-<line>`: the same key from a file of
 * `payrun events` as from Redis). Batches are cut by the input alone (the k-th N selected events,
 * counted from the input's start or, on Redis, from the entry's, done or not), and a batch is
 * recorded done all at once, so a batch sent again carries the same events and key.
 */
export function makeDelivery(sourceId: string, events: readonly SelectedEvent[], batched: boolean): Delivery {
  const head = events[0]!;
  const tail = events[events.length - 1]!;
  let key: string;
  if (head.id !== undefined && tail.id !== undefined) key = batched ? `${sourceId}:${head.id}..${tail.id}` : `${sourceId}:${head.id}`;
  else key = batched ? `${sourceId}:${head.line}-${tail.line}` : `${sourceId}:${head.line}`;
  const body = batched ? `[${events.map((e) => e.text).join(',')}]` : head.text;
  const clients = events.length === 1 ? [head.client] : [...new Set(events.map((e) => e.client))];
  const delivery: Delivery = { key, lines: events.map((e) => e.line), clients, body, attempts: 0 };
  if (head.entry !== undefined) delivery.entries = events.map((e) => e.entry!);
  return delivery;
}
