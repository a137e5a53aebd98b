import { type CliIo, ExitCode } from '../cliIo.js';
import { writeAll } from '../../io/writeAll.js';
import { describeRedisError } from '../errors.js';
import { ClusterError } from '../../cluster/clusterError.js';
import { type DecidedRow, decodeEvents, eventJson } from '../../cluster/eventCodec.js';
import type { RedisTarget } from '../../cluster/redisTarget.js';
import { RedisTransport } from '../../cluster/redisTransport.js';

export interface EventsCommandOptions {
  redis: RedisTarget;
  prefix: string;
}

const PAGE = 64;

/** One partition's decided rows in commit order (input, then line), page by page. */
async function* partitionRows(transport: RedisTransport, p: number): AsyncGenerator<DecidedRow> {
  let after = '';
  for (;;) {
    const page = await transport.events(p, after, PAGE);
    for (const [id, bytes] of page) {
      let rows: DecidedRow[];
      try {
        rows = decodeEvents(bytes).rows;
      } catch (error) {
        throw new ClusterError(`events entry ${id} of partition ${p}: ${error instanceof Error ? error.message : String(error)}`);
      }
      yield* rows;
    }
    if (page.length < PAGE) return;
    after = page[page.length - 1]![0];
  }
}

/**
 * `payrun events --redis URL`: every committed row event of the cluster as NDJSON (the lines
 * `payrun stream` writes, with the row's id `<input>-<line>` and partition), the partitions'
 * streams merged into publish order (input, then line).
 */
export async function eventsCommand(options: EventsCommandOptions, io: CliIo): Promise<number> {
  const transport = new RedisTransport(options.redis, { prefix: options.prefix, patient: false });
  try {
    const partitions = await transport.partitions();
    if (partitions === undefined) throw new ClusterError(`nothing has been published under prefix '${options.prefix}' at ${options.redis.display}`);
    const cursors = Array.from({ length: partitions }, (_, p) => partitionRows(transport, p));
    const heads = await Promise.all(cursors.map(async (cursor) => (await cursor.next()).value as DecidedRow | undefined));
    let out: string[] = [];
    for (;;) {
      let best = -1;
      for (let p = 0; p < partitions; p++) {
        const row = heads[p];
        if (row === undefined) continue;
        const top = best < 0 ? undefined : heads[best]!;
        if (top === undefined || row.input < top.input || (row.input === top.input && row.line < top.line)) best = p;
      }
      if (best < 0) break;
      out.push(eventJson(heads[best]!, best));
      heads[best] = (await cursors[best]!.next()).value as DecidedRow | undefined;
      if (out.length >= 4096) {
        await writeAll(io.stdout, `${out.join('\n')}\n`);
        out = [];
      }
    }
    if (out.length > 0) await writeAll(io.stdout, `${out.join('\n')}\n`);
    return ExitCode.Ok;
  } catch (error) {
    await writeAll(io.stderr, `${describeRedisError(error, transport, options.redis.display)}\n`);
    return ExitCode.Fatal;
  } finally {
    await transport.close();
  }
}
