import { HistoryFormatter } from '../../io/historyFormat.js';
import type { OutputFormat } from '../../io/outputFormat.js';
import { writeAll } from '../../io/writeAll.js';
import { clientHistory } from '../../session/clientHistory.js';
import { type CliIo, ExitCode } from '../cliIo.js';
import { describeError } from '../errors.js';

const CHUNK_CHARS = 1 << 16;

/** `payrun journal history DIR --client N [--format F]`: every journaled row of one client, in order, on stdout. */
export async function historyCommand(dir: string, options: { client: number; format: OutputFormat }, io: CliIo): Promise<number> {
  try {
    const formatter = new HistoryFormatter(options.format);
    let text = formatter.start();
    for (const row of clientHistory(dir, options.client)) {
      text += formatter.row(row);
      if (text.length < CHUNK_CHARS) continue;
      if (!(await writeAll(io.stdout, text))) return ExitCode.Ok; // the reader went away (| head)
      text = '';
    }
    await writeAll(io.stdout, text + formatter.end());
    return ExitCode.Ok;
  } catch (error) {
    await writeAll(io.stderr, `${describeError(error)}\n`);
    return ExitCode.Fatal;
  }
}
