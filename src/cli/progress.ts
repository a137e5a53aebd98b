import type { Writable } from 'node:stream';

export interface Progress {
  update(done: number, rows: number): void;
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

/** A progress bar on stderr, only when it is a terminal; over bytes when the size is known. */
export async function startProgress(stderr: Writable & { isTTY?: boolean }, enabled: boolean, total?: number): Promise<Progress> {
  if (!enabled || stderr.isTTY !== true) return NONE;
  const { SingleBar, Presets } = await import('cli-progress'); // loaded only for a terminal
  const known = total !== undefined && total > 0;
  const bar = new SingleBar(
    {
      stream: stderr as NodeJS.WritableStream,
      format: known ? 'payrun {bar} {percentage}% | {rows} rows | eta {eta_formatted}' : 'payrun {rows} rows',
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    Presets.shades_classic,
  );
  bar.start(known ? total : 1, 0, { rows: 0 });
  return {
    update(done, rows) {
      bar.update(known ? done : 0, { rows });
    },
    stop() {
      bar.stop();
    },
  };
}
