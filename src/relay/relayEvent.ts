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

/** A selected event: its line in the relay's input, its client, and its text (sent as is: amounts stay exact strings). */
export interface SelectedEvent {
  line: number;
  client: number;
  text: string;
}

/**
 * Reads one NDJSON line of `payrun stream` (src/io/rowEvent.ts): the event when it is applied and
 * of a chosen type, undefined when it is to be skipped (rejected, or another type, or blank).
 */
export function selectEvent(text: string, line: number, types: ReadonlySet<string> | undefined): SelectedEvent | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let event: { result?: unknown; type?: unknown; client?: unknown };
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
  return { line, client: event.client as number, text: trimmed };
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
}

/**
 * The Idempotency-Key of a delivery: the source and the input lines it carries. Batches are cut
 * by the input alone (the k-th N selected events, counted from the input's start, done or not),
 * and a batch is recorded done all at once, so a batch sent again carries the same events and key.
 */
export function makeDelivery(sourceId: string, events: readonly SelectedEvent[], batched: boolean): Delivery {
  const first = events[0]!.line;
  const last = events[events.length - 1]!.line;
  const key = batched ? `${sourceId}:${first}-${last}` : `${sourceId}:${first}`;
  const body = batched ? `[${events.map((e) => e.text).join(',')}]` : events[0]!.text;
  return { key, lines: events.map((e) => e.line), clients: [...new Set(events.map((e) => e.client))], body, attempts: 0 };
}
