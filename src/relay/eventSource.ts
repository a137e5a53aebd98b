import { createReadStream, fstatSync, openSync, read } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { DonePosition } from './deliveredLog.js';
import { type Delivery, makeDelivery, RelaySourceError, type SelectedEvent, selectEvent } from './relayEvent.js';

/** One line of the relay's input, numbered from 1. */
export interface SourceLine {
  line: number;
  text: string;
}

/**
 * Where the relay's events come from. A source gives its lines in order and the same lines (and
 * numbers) again on every run: the relay's position and its idempotency keys are line numbers.
 * Here: an NDJSON file of `payrun stream`, or standard input (`-`). The cluster's events on Redis
 * are read through a consumer group instead (redisSource.ts): there the group is the position.
 */
export interface EventSource {
  /** How the source is named in messages: the file, or 'stdin'. */
  readonly name: string;
  /** The lines, a chunk's worth at a time (never an empty page). */
  pages(): AsyncIterable<SourceLine[]>;
  close(): void;
}

/**
 * The NDJSON of `payrun stream` from a file or from standard input ('-'). The file is opened at
 * once (a missing file fails here, before anything else starts). Lines end at '\n' (a '\r' before
 * it is dropped); a last line without one is a line too, but for a followed file (`follow`: at its
 * end, read again every FOLLOW_POLL_MS until the relay stops), where it is a line still being
 * written. Read a chunk at a time, not a line at a time: one await per 64 KiB rather than per
 * event (readline's per-line iterator was a tenth of the relay's CPU per request).
 */
export function ndjsonSource(from: string, stdin: Readable, follow = false): EventSource {
  const fd = from === '-' ? undefined : openSync(from, 'r');
  const input = fd === undefined ? stdin : follow ? undefined : createReadStream('', { fd, highWaterMark: CHUNK });
  let closed = false;
  return {
    name: from === '-' ? 'stdin' : from,
    async *pages() {
      const decoder = new StringDecoder('utf8');
      let line = 0;
      let rest = '';
      const page = (texts: string[]): SourceLine[] => texts.map((text) => ({ line: ++line, text: text.endsWith('\r') ? text.slice(0, -1) : text }));
      for await (const chunk of input ?? followed(fd!, from, () => closed)) {
        const texts = (rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer))).split('\n');
        rest = texts.pop()!;
        if (texts.length > 0) yield page(texts);
      }
      const tail = rest + decoder.end();
      // A followed file's unfinished last line is still being written: never a line of its own.
      if (tail !== '' && !follow) yield page([tail]);
    },
    close() {
      // Standard input too: a pipe with nothing more to say would otherwise keep the process alive after a stop.
      // (A followed file's descriptor is left to the exit: a read may still be pending on it.)
      closed = true;
      input?.destroy();
    },
  };
}

const CHUNK = 1 << 16;
export const FOLLOW_POLL_MS = 200;

/** A growing file's bytes as they come (`tail -f`) until the source is closed; a file that shrinks is an error. */
async function* followed(fd: number, path: string, closed: () => boolean): AsyncGenerator<Buffer> {
  let position = 0;
  while (!closed()) {
    const buffer = Buffer.allocUnsafe(CHUNK);
    const bytes = await new Promise<number>((resolve, reject) => read(fd, buffer, 0, CHUNK, position, (error, n) => (error ? reject(error) : resolve(n))));
    if (bytes > 0) {
      position += bytes;
      yield buffer.subarray(0, bytes);
      continue;
    }
    if (fstatSync(fd).size < position) throw new RelaySourceError(`'${path}' shrank below the ${position} bytes read: --follow needs a file that only grows`);
    await sleep(FOLLOW_POLL_MS);
  }
}

export interface CutSettings {
  sourceId: string;
  types: ReadonlySet<string> | undefined;
  batch: number;
}

/**
 * The deliveries of a file source, in input order: selected events not done before (`position`),
 * one a delivery or cut into batches. A batch is the k-th `batch` selected events of the input,
 * done or not: the same events (and key) on every run. `skipped` counts the events done before.
 */
export async function* fileDeliveries(
  pages: AsyncIterator<SourceLine[]>,
  first: SourceLine[],
  cut: CutSettings,
  position: DonePosition,
  skipped: () => void,
): AsyncGenerator<Delivery[]> {
  const { sourceId, types, batch } = cut;
  let selected = 0;
  let events: SelectedEvent[] = [];
  for (let page: SourceLine[] | undefined = first; page !== undefined; ) {
    const deliveries: Delivery[] = [];
    for (const { text, line } of page) {
      const event = selectEvent(text, line, types);
      if (event === undefined) continue;
      selected += 1;
      if (position.read(event.line)) skipped();
      else events.push(event);
      if (selected % batch === 0) {
        if (events.length > 0) deliveries.push(makeDelivery(sourceId, events, batch > 1));
        events = [];
      }
    }
    if (deliveries.length > 0) yield deliveries;
    const result = await pages.next();
    page = result.done === true ? undefined : result.value;
  }
  if (events.length > 0) yield [makeDelivery(sourceId, events, batch > 1)];
}
