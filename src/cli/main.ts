import { Command, CommanderError } from 'commander';
import { type CliIo, ExitCode, UsageError } from './cliIo.js';
import { writeAll } from '../io/writeAll.js';
import { defineBatchRun, defineCluster, defineGenerate, defineJournal, defineStream, type ProgramContext } from './program.js';

export { defaultWorkers, packageVersion, parseCount } from './options.js';

/** Runs payrun with argv (without node and script) and returns the exit code; never calls process.exit. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const errors: string[] = [];
  const configure = (command: Command): Command =>
    command
      .exitOverride()
      .configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => errors.push(text),
        outputError: (text) => errors.push(text),
      });
  const program = configure(new Command('payrun'));
  const context: ProgramContext = { configure, io, exit: (code) => (exitCode = code) };
  defineBatchRun(program, context);
  defineGenerate(program, context);
  defineStream(program, context);
  defineCluster(program, context);
  defineJournal(program, context);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof UsageError) {
      await writeAll(io.stderr, `payrun: ${error.message} (see 'payrun --help')\n`);
      return ExitCode.Usage;
    }
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.Ok; // --help, --version
      const line = (errors.join('') || error.message).trim().split('\n')[0]!.replace(/^error: /, '');
      await writeAll(io.stderr, `payrun: ${line} (see 'payrun --help')\n`);
      return ExitCode.Usage;
    }
    throw error;
  }
}
