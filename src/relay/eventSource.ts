import { createReadStream, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { DonePosition } from './deliveredLog.js';
import { type Delivery, makeDelivery, type SelectedEvent, selectEvent } from './relayEvent.js';

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
  lines(): AsyncIterable<SourceLine>;
  close(): void;
}

/**
 * The NDJSON of `payrun stream` from a file or from standard input ('-'). The file is opened at
 * once (a missing file fails here, before anything else starts).
 */
export function ndjsonSource(from: string, stdin: Readable): EventSource {
  const input = from === '-' ? stdin : createReadStream('', { fd: openSync(from, 'r') });
  const reader = createInterface({ input, crlfDelay: Infinity });
  return {
    name: from === '-' ? 'stdin' : from,
    async *lines() {
      let line = 0;
      for await (const text of reader) yield { line: ++line, text };
    },
    close() {
      reader.close();
      // Standard input too: a pipe with nothing more to say would otherwise keep the process alive after a stop.
      input.destroy();
    },
  };
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
  lines: AsyncIterator<SourceLine>,
  first: SourceLine | undefined,
  cut: CutSettings,
  position: DonePosition,
  skipped: () => void,
): AsyncGenerator<Delivery[]> {
  const { sourceId, types, batch } = cut;
  let selected = 0;
  let events: SelectedEvent[] = [];
  for (let next: SourceLine | undefined = first; next !== undefined; ) {
    const event = selectEvent(next.text, next.line, types);
    if (event !== undefined) {
      selected += 1;
      if (position.read(event.line)) skipped();
      else events.push(event);
      if (selected % batch === 0 && events.length > 0) {
        const delivery = makeDelivery(sourceId, events, batch > 1);
        events = [];
        yield [delivery];
      } else if (selected % batch === 0) events = [];
    }
    const result = await lines.next();
    if (result.done === true) break;
    next = result.value;
  }
  if (events.length > 0) yield [makeDelivery(sourceId, events, batch > 1)];
}
