import { reasonCode } from '../domain/rejectReason.js';
import { chunkBytesFor, createEngine } from '../engine/createEngine.js';
import { run, StrictReject } from '../engine/run.js';
import { countAccounts, formatAccounts } from '../io/accountsCsv.js';
import { RejectsFile } from '../io/rejectsWriter.js';
import { writeAccounts } from './accountsOutput.js';
import { type CliIo, ExitCode, writeAll } from './cliIo.js';
import { describeError } from './errors.js';
import { openInput } from './inputSource.js';
import { startProgress } from './progress.js';
import { formatSummary } from './summary.js';

export interface RunCommandOptions {
  output?: string;
  rejects?: string;
  strict: boolean;
  quiet: boolean;
  workers: number;
}

/** `payrun [options] <file>`: the batch run. Returns the exit code. */
export async function runCommand(file: string, options: RunCommandOptions, io: CliIo): Promise<number> {
  const started = performance.now();
  let rejects: RejectsFile | undefined;
  let name = file;
  try {
    const input = openInput(file, io.stdin, chunkBytesFor(options.workers));
    name = input.name;
    if (options.rejects !== undefined) rejects = new RejectsFile(options.rejects);
    const rejectsCsv = rejects?.csv;
    const progress = await startProgress(io.stderr, !options.quiet, input.size);
    let result;
    try {
      result = await run(input.lines, {
        engine: createEngine(options.workers, input.size),
        strict: options.strict,
        onReject: rejectsCsv ? (line, reason, buf, start, end) => rejectsCsv.add(line, reason, buf, start, end) : undefined,
        onProgress: (stats) => progress.update(stats.bytes, stats.rows),
      });
    } finally {
      progress.stop();
      const file = rejects;
      rejects = undefined;
      file?.close();
    }
    await writeAccounts(formatAccounts(result.accounts), options.output, io.stdout);
    if (!options.quiet) {
      const seconds = (performance.now() - started) / 1000;
      await writeAll(io.stderr, formatSummary(result.stats, countAccounts(result.accounts), seconds));
    }
    return ExitCode.Ok;
  } catch (error) {
    try {
      rejects?.close();
    } catch {
      // the first error is the one to report
    }
    const message =
      error instanceof StrictReject
        ? `payrun: row rejected under --strict: ${reasonCode(error.reason)} (${name}:${error.line})`
        : describeError(error, name);
    await writeAll(io.stderr, `${message}\n`);
    return ExitCode.Fatal;
  }
}
