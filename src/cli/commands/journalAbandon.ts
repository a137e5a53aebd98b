import { abandonUnfinishedInput } from '../../journal/abandonInput.js';
import { describeInputId } from '../../journal/inputKind.js';
import { writeAll } from '../../io/writeAll.js';
import { type CliIo, ExitCode } from '../cliIo.js';
import { describeError } from '../errors.js';

/**
 * `payrun journal abandon DIR`: one line on stdout saying what was undone, exit 0; nothing
 * unfinished (or no journal) is one line on stderr, exit 1: a script that goes on to run the next
 * file is told that no rows were undone, as an undo with nothing to undo is an error.
 */
export async function abandonCommand(dir: string, io: CliIo): Promise<number> {
  const warnings: string[] = [];
  try {
    const { input, rows, lines } = await abandonUnfinishedInput(dir, { warn: (line) => warnings.push(line) });
    for (const line of warnings) await writeAll(io.stderr, `payrun: ${line}\n`);
    await writeAll(
      io.stdout,
      `payrun: abandoned input ${input.index + 1} '${input.name}' (${describeInputId(input)}): undid ${rows} row${rows === 1 ? '' : 's'} (its lines 1 to ${lines}); journal '${dir}' is as it was before that input began\n`,
    );
    return ExitCode.Ok;
  } catch (error) {
    for (const line of warnings) await writeAll(io.stderr, `payrun: ${line}\n`);
    await writeAll(io.stderr, `${describeError(error)}\n`);
    return ExitCode.Fatal;
  }
}
