import { type CliIo, ExitCode } from '../cliIo.js';
import { writeAll } from '../../io/writeAll.js';
import { basename } from 'node:path';
import { asWriteError } from '../../io/writeError.js';
import { describeError } from '../errors.js';
import { startProgress } from '../progress.js';

export interface GenerateCommandOptions {
  rows: number;
  clients: number;
  seed: number;
  firstTx?: number;
  expected?: string;
  crlf: boolean;
  bom: boolean;
  quiet: boolean;
}

/** `payrun generate -n <rows> -c <clients> [options] <out.csv>`. Returns the exit code. */
export async function generateCommand(out: string, options: GenerateCommandOptions, io: CliIo): Promise<number> {
  const started = performance.now();
  const progress = await startProgress(io.stderr, !options.quiet, options.rows);
  try {
    const { generateFile } = await import('../../generate/generateFile.js'); // only this command needs it
    const result = await generateFile({
      rows: options.rows,
      clients: options.clients,
      seed: options.seed,
      firstTx: options.firstTx,
      crlf: options.crlf,
      bom: options.bom,
      out,
      expected: options.expected,
      onProgress: (rows) => progress.update(rows, rows),
    });
    progress.stop();
    if (!options.quiet) {
      const seconds = (performance.now() - started) / 1000;
      const mb = (result.bytes / 1e6).toFixed(1);
      // With --first-tx the user is numbering a series of files: say where the next one starts.
      const next = options.firstTx === undefined ? '' : `; tx ids from ${options.firstTx}, a next file: --first-tx ${result.followingTx}`;
      await writeAll(io.stderr, `payrun: wrote ${result.rows} rows (${mb} MB) to ${out} in ${seconds.toFixed(2)} s${next}\n`);
    }
    return ExitCode.Ok;
  } catch (error) {
    progress.stop();
    // I/O errors name the file the user gave (not the temp file behind it) as a write.
    const path = (error as NodeJS.ErrnoException)?.path;
    const target = options.expected !== undefined && path?.includes(basename(options.expected)) ? options.expected : out;
    await writeAll(io.stderr, `${describeError(asWriteError(error, target), out)}\n`);
    return ExitCode.Fatal;
  }
}
