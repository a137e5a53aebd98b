import { createReadStream, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

/** One line of the relay's input, numbered from 1. */
export interface SourceLine {
  line: number;
  text: string;
}

/**
 * Where the relay's events come from. A source gives its lines in order and the same lines (and
 * numbers) again on every run: the relay's position and its idempotency keys are line numbers.
 * Implemented: an NDJSON file of `payrun stream`, or standard input (`-`). A Redis source (the
 * cluster's events through a consumer group) would implement this too; it is not there yet.
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
