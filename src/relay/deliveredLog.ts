/**
 * The relay's position, as text (the pure half of relayState.ts). Acknowledgements come back out
 * of order with --concurrency, so the position is not one number: it is a low-water mark (every
 * selected event at or below that input line is done) plus the done lines above it.
 *
 * - `delivered-<generation>.log`: one line per finished delivery, its event lines separated by
 *   spaces (`17 18 21\n`), appended and fsynced in groups. A kill -9 can leave a torn last line
 *   (no newline): it is ignored and cut off, and its events are sent again (at least once).
 * - `checkpoint.json`: `{"generation":G,"lowWater":L,"done":[...]}`, replaced atomically when the
 *   log grows and at a clean stop; it names the log generation that continues it.
 */

/** A state file that is not what the relay writes: one line, exit 1. */
export class RelayStateError extends Error {}

/** The done lines of a log's text, and how many bytes of it are whole lines (the rest is a torn append). */
export function parseDeliveredLog(text: string, name: string): { lines: number[]; wholeBytes: number } {
  const end = text.lastIndexOf('\n') + 1;
  const lines: number[] = [];
  let row = 0;
  for (const record of text.slice(0, end).split('\n')) {
    row += 1;
    if (record === '') continue;
    for (const field of record.split(' ')) {
      if (!/^[1-9]\d{0,15}$/.test(field)) throw new RelayStateError(`state file '${name}' is damaged at line ${row}: '${record.slice(0, 40)}'`);
      lines.push(Number(field));
    }
  }
  return { lines, wholeBytes: Buffer.byteLength(text.slice(0, end)) };
}

export function formatDelivered(lines: readonly number[]): string {
  return `${lines.join(' ')}\n`;
}

export interface Checkpoint {
  generation: number;
  lowWater: number;
  done: number[];
}

export function parseCheckpoint(text: string, name: string): Checkpoint {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RelayStateError(`state file '${name}' is not JSON`);
  }
  const c = value as Partial<Checkpoint>;
  const whole = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!whole(c.generation) || !whole(c.lowWater) || !Array.isArray(c.done) || !c.done.every(whole)) {
    throw new RelayStateError(`state file '${name}' is not a relay checkpoint`);
  }
  return { generation: c.generation, lowWater: c.lowWater, done: c.done };
}

/**
 * Which selected input lines are done, and the low-water mark, as the run goes: restored from
 * the state, told of every line read and every line finished.
 */
export class DonePosition {
  lowWater: number;
  private readonly done: Set<number>;
  /** Selected lines read and not skipped, in input order, not yet under the low-water mark. */
  private readonly open: number[] = [];
  private openHead = 0;
  /** The last input line read (the progress bar's position: the reader is at most a window of deliveries ahead of the acknowledgements). */
  lastRead = 0;

  constructor(restored: { lowWater: number; done: Iterable<number> }) {
    this.lowWater = restored.lowWater;
    this.done = new Set([...restored.done].filter((line) => line > restored.lowWater));
  }

  /** A selected event on `line` was read; true if it was already done (skip it). */
  read(line: number): boolean {
    this.lastRead = Math.max(this.lastRead, line);
    if (line <= this.lowWater || this.done.has(line)) return true;
    this.open.push(line);
    return false;
  }

  finish(lines: readonly number[]): void {
    for (const line of lines) this.done.add(line);
    while (this.openHead < this.open.length && this.done.has(this.open[this.openHead]!)) this.openHead += 1;
    if (this.openHead > 4096 && this.openHead * 2 > this.open.length) {
      this.open.splice(0, this.openHead);
      this.openHead = 0;
    }
    // Everything read before the first open line is done (or was never selected).
    const firstOpen = this.openHead < this.open.length ? this.open[this.openHead]! : this.lastRead + 1;
    this.lowWater = Math.max(this.lowWater, firstOpen - 1);
  }

  /** The done lines above the low-water mark (a checkpoint's `done`). */
  doneAbove(): number[] {
    for (const line of this.done) if (line <= this.lowWater) this.done.delete(line);
    return [...this.done].sort((a, b) => a - b);
  }
}
