import { createReadStream, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { RelayMetrics } from './relayMetrics.js';

/** The progress bar of a relay on a terminal; log lines go above it. */
export interface RelayBar {
  /** One log line (with its newline), written above the bar. */
  log(line: string): void;
  stop(): void;
}

/** Where the bar's position comes from: the input line reached and the input's line count (a file), or nothing (stdin, Redis: events and rate only). */
export interface BarPosition {
  line(): number;
  total(): number | undefined;
}

/**
 * A bar on stderr, only when it is a terminal: for a file, the input lines done of all its lines
 * (counted in the background), with the events delivered, their rate and the time left; for
 * stdin or Redis, the events delivered and their rate. Redrawn 5 times a second from the metrics.
 */
export async function startRelayBar(stderr: Writable & { isTTY?: boolean }, metrics: RelayMetrics, position: BarPosition): Promise<RelayBar | undefined> {
  if (stderr.isTTY !== true) return undefined;
  const { MultiBar, Presets } = await import('cli-progress'); // loaded only for a terminal
  const bars = new MultiBar(
    {
      stream: stderr as NodeJS.WritableStream,
      format: '{mode}',
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
      forceRedraw: true,
    },
    Presets.shades_classic,
  );
  const bar = bars.create(1, 0, { mode: '' });
  let lastEvents = 0;
  let lastLine = position.line();
  let lastMs = performance.now();
  let rate = 0;
  let lineRate = 0;
  const draw = (): void => {
    const now = performance.now();
    if (now - lastMs >= 1000) {
      rate = Math.round(((metrics.events - lastEvents) * 1000) / (now - lastMs));
      lineRate = ((position.line() - lastLine) * 1000) / (now - lastMs);
      lastEvents = metrics.events;
      lastLine = position.line();
      lastMs = now;
    }
    const total = position.total();
    const counts = `${metrics.events} events delivered | ${rate}/s${metrics.deadLetters > 0 ? ` | ${metrics.deadLetters} dead letters` : ''}`;
    if (total === undefined || total === 0) {
      bar.update(0, { mode: `payrun relay | ${counts}` });
      return;
    }
    const line = Math.min(position.line(), total);
    const left = lineRate > 0 ? Math.round((total - line) / lineRate) : undefined;
    const width = 30;
    const filled = Math.round((line / total) * width);
    bar.update(0, { mode: `payrun relay ${'\u2588'.repeat(filled)}${'\u2591'.repeat(width - filled)} ${Math.floor((line / total) * 100)}% | read line ${line} of ${total} | ${counts}${left === undefined ? '' : ` | eta ${left}s`}` });
  };
  const timer = setInterval(draw, 200);
  timer.unref();
  draw();
  return {
    log: (line) => bars.log(line),
    stop() {
      clearInterval(timer);
      bars.stop();
    },
  };
}

/**
 * A file's line count, read in the background from the first call (the bar shows no total until
 * it is known); none for anything but a regular file (a pipe's bytes are the relay's to read).
 */
export function lineCount(path: string): () => number | undefined {
  let count = 0;
  let done = false;
  let started = false;
  let last = 10;
  const start = (): void => {
    started = true;
    let regular = false;
    try {
      regular = statSync(path).isFile();
    } catch {
      return;
    }
    if (!regular) return;
    const stream = createReadStream(path, { highWaterMark: 1 << 20 });
    stream.on('data', (chunk: Buffer | string) => {
      const bytes = chunk as Buffer;
      for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) count += 1;
      if (bytes.length > 0) last = bytes[bytes.length - 1]!;
    });
    stream.on('end', () => {
      if (last !== 10) count += 1;
      done = true;
    });
    stream.on('error', () => undefined);
  };
  return () => {
    if (!started) start();
    return done ? count : undefined;
  };
}
