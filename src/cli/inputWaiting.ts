import { statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { type InputSource, openInput } from '../io/inputSource.js';
import { once, openFifo, sayIfWaiting, waitingNotice, waitingNoticeWanted } from '../io/waitingNotice.js';
import type { CliIo } from './cliIo.js';

/** The one `payrun: waiting for input on NAME…` line of a run, said at most once, or undefined when not wanted (see waitingNoticeWanted). */
export function waitingSayer(io: CliIo, quiet: boolean, name: string): (() => void) | undefined {
  if (!waitingNoticeWanted(io.stderr, quiet, false)) return undefined;
  // From the start of a cleared line: a progress bar may be drawn on it (it redraws below).
  return once(() => io.stderr.write(`\r\x1b[2Kpayrun: ${waitingNotice(name)}\n`));
}

function isFifo(path: string): boolean {
  try {
    return statSync(path).isFIFO();
  } catch {
    return false; // openInput reports a missing or unreadable path
  }
}

/**
 * openInput, telling a person at a terminal when the input keeps it waiting: a FIFO with no
 * writer (opened off the main thread, whose open() would block it), or a pipe, FIFO or terminal
 * whose first bytes take over a second.
 */
export async function openInputNoticingWait(path: string, stdin: Readable, io: CliIo, quiet: boolean, chunkBytes?: number): Promise<InputSource> {
  const say = waitingSayer(io, quiet, path === '-' ? 'stdin' : path);
  const opened = say !== undefined && path !== '-' && isFifo(path) ? await openFifo(path, say) : undefined;
  const input = openInput(path, stdin, chunkBytes, opened);
  if (say !== undefined && input.size === undefined) input.lines = sayIfWaiting(input.lines, say);
  return input;
}
