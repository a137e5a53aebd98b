import { formatAccountsAs } from '../../io/accountsJson.js';
import type { OutputFormat } from '../../io/outputFormat.js';
import { replayJournal, type ReplayLimit } from '../../journal/replay.js';
import { verifyJournal } from '../../journal/verify.js';
import { writeAccounts } from '../../io/accountsOutput.js';
import { type CliIo, ExitCode } from '../cliIo.js';
import { writeAll } from '../../io/writeAll.js';
import { describeError } from '../errors.js';

/** `payrun journal verify DIR`: exit 0 when the journal is sound (notes allowed), 1 with every problem listed. */
export async function verifyCommand(dir: string, io: CliIo): Promise<number> {
  try {
    const report = verifyJournal(dir);
    const lines = [
      ...report.summary,
      ...report.notes.map((note) => `note: ${note}`),
      ...report.problems.map((problem) => `problem: ${problem}`),
      report.problems.length === 0 ? 'ok' : `${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} found`,
    ];
    await writeAll(report.problems.length === 0 ? io.stdout : io.stderr, `${lines.join('\n')}\n`);
    return report.problems.length === 0 ? ExitCode.Ok : ExitCode.Fatal;
  } catch (error) {
    await writeAll(io.stderr, `${describeError(error)}\n`);
    return ExitCode.Fatal;
  }
}

/** `payrun journal replay DIR [--until-seq S | --until-line N [--input K]] [-o FILE]`: accounts from the events alone. */
export async function replayCommand(dir: string, options: ReplayLimit & { output?: string; format?: OutputFormat }, io: CliIo): Promise<number> {
  try {
    const { state } = replayJournal(dir, options);
    await writeAccounts(formatAccountsAs(state, options.format ?? 'csv'), options.output, io.stdout);
    return ExitCode.Ok;
  } catch (error) {
    await writeAll(io.stderr, `${describeError(error)}\n`);
    return ExitCode.Fatal;
  }
}
