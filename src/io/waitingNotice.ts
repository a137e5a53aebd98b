import { open } from 'node:fs';

/** How long a read may wait for its first byte before a person at a terminal is told why nothing happens. */
export const WAITING_NOTICE_MS = 1000;

/**
 * Whether a run that reads `name` should say it is waiting when nothing comes: only to a person
 * (stderr a terminal; a script or a log gets no such line), never under --quiet, and never for a
 * regular file (its bytes are there, or it is empty: no wait).
 */
export function waitingNoticeWanted(stderr: { isTTY?: boolean }, quiet: boolean, regularFile: boolean): boolean {
  return stderr.isTTY === true && !quiet && !regularFile;
}

/** The one line said, without its `payrun: ` (a FIFO with no writer, a pipe whose producer is silent, a terminal). */
export function waitingNotice(name: string): string {
  return `waiting for input on ${name}…`;
}

/**
 * The chunks of `source` unchanged; if its first chunk has not come `delayMs` after it was asked
 * for, `say` is called once (a FIFO with no writer, or a pipe whose producer has not written, is
 * otherwise a silent hang).
 */
export async function* sayIfWaiting(source: AsyncIterable<Buffer>, say: () => void, delayMs = WAITING_NOTICE_MS): AsyncGenerator<Buffer> {
  let timer: NodeJS.Timeout | undefined = setTimeout(say, delayMs);
  timer.unref(); // the read keeps the process alive; this timer never should
  try {
    for await (const chunk of source) {
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
      yield chunk;
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a FIFO for reading off the main thread: its open() blocks until a writer opens it, and a
 * blocked main thread could not say it is waiting. `say` is called once if that takes `delayMs`.
 */
export async function openFifo(path: string, say: () => void, delayMs = WAITING_NOTICE_MS): Promise<number> {
  const timer = setTimeout(say, delayMs);
  try {
    // A plain descriptor, as openSync gives (a FileHandle would be closed when collected).
    return await new Promise<number>((resolve, reject) => open(path, 'r', (error, fd) => (error ? reject(error) : resolve(fd))));
  } finally {
    clearTimeout(timer);
  }
}

/** Says a line at most once, however many waits call it. */
export function once(say: () => void): () => void {
  let said = false;
  return () => {
    if (said) return;
    said = true;
    say();
  };
}
