import { Command, CommanderError } from 'commander';
import { existsSync } from 'node:fs';
import { type CliIo, ExitCode, UsageError } from './cliIo.js';
import { writeAll } from '../io/writeAll.js';
import { defineBatchRun, defineCluster, defineGenerate, defineJournal, defineRelay, defineStream, type ProgramContext } from './program.js';
import { addHelpExamples, commandPath } from './helpExamples.js';
import { closest } from './suggest.js';

export { defaultWorkers, packageVersion, parseCount } from './options.js';

/** `payrun help [command]` is `payrun [command] --help` (a file named `help` is still `./help`). */
function helpAsOption(argv: string[]): string[] {
  return argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv;
}

/** Runs payrun with argv (without node and script) and returns the exit code; never calls process.exit. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const errors: string[] = [];
  /** The command being parsed or run, for its own `--help` in an error line. */
  let current = 'payrun';
  const configure = (command: Command): Command =>
    command
      .exitOverride()
      .showSuggestionAfterError(true)
      .configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => errors.push(text),
        outputError: (text) => {
          errors.push(text);
          current = commandPath(command);
        },
      });
  const program = configure(new Command('payrun'));
  const context: ProgramContext = { configure, io, exit: (code) => (exitCode = code) };
  defineBatchRun(program, context);
  defineGenerate(program, context);
  defineStream(program, context);
  defineCluster(program, context);
  defineJournal(program, context);
  defineRelay(program, context);
  addHelpExamples(program);
  program.hook('preAction', (_program, action) => {
    current = commandPath(action);
  });
  const commands = program.commands.map((command) => command.name());

  const usage = async (message: string): Promise<number> => {
    await writeAll(io.stderr, `payrun: ${message} (see '${current} --help')\n`);
    return ExitCode.Usage;
  };
  try {
    const args = helpAsOption(argv);
    const first = args[0];
    if (first !== undefined && !first.startsWith('-') && !first.includes('/') && !commands.includes(first) && !existsSync(first)) {
      const near = closest(first, commands);
      if (near !== undefined) return await usage(`unknown command '${first}' (did you mean '${near}'?)`);
    }
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof UsageError) return await usage(error.message);
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.Ok; // --help, --version
      if (error.code === 'commander.help') {
        // A command of sub-commands given none (`payrun journal`): its usage, as --help prints it.
        await writeAll(io.stderr, errors.join(''));
        return ExitCode.Usage;
      }
      const [line, ...more] = (errors.join('') || error.message).trim().split('\n');
      const hint = more.find((text) => text.startsWith('(Did you mean'));
      const message = line!.replace(/^error: /, '') + (hint !== undefined ? ` ${hint.replace('(Did you mean', '(did you mean')}` : '');
      return await usage(message);
    }
    throw error;
  }
}

