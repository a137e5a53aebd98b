import { STREAM_INPUT, type InputEntry, unfinishedInput } from '../journal/inputs.js';
import type { Journal } from '../journal/journal.js';

/** The journal input id of a `payrun stream` run's standard input: it names a run, not content. */
export const STDIN_STREAM = `${STREAM_INPUT}stdin:`;

export function stdinStreamId(now = new Date(), pid = process.pid): string {
  return `${STDIN_STREAM}${now.toISOString()}:${pid}`;
}

/**
 * Ends `stale`, a stdin stream input left unfinished by a `payrun stream --journal` run that
 * did not end (kill -9, a crash): a pipe cannot be read again, so it can never be resumed, and
 * the journal's lock (held by the caller) means no run is still writing it. Its journaled rows
 * stay applied. One warning line.
 */
export function closeStaleStdinStream(journal: Journal, stale: InputEntry, warn: (line: string) => void): void {
  journal.end(stale);
  warn(
    `journal '${journal.dir}': closed the unfinished stream input ${stale.index + 1} (${stale.rows} rows applied, up to line ${stale.nextLine}), left by a stream run that did not end; its rows stay applied`,
  );
}

/** The journal's unfinished input if it is such a stale stdin stream (see closeStaleStdinStream). */
export function staleStdinStream(inputs: readonly InputEntry[]): InputEntry | undefined {
  const open = unfinishedInput(inputs);
  return open?.sha256.startsWith(STDIN_STREAM) ? open : undefined;
}
