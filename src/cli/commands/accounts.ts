import { type CliIo, ExitCode } from '../cliIo.js';
import { writeAll } from '../../io/writeAll.js';
import { describeRedisError } from '../errors.js';
import { CLIENT_COUNT } from '../../domain/ledgerState.js';
import type { AccountBalances } from '../../io/accountsCsv.js';
import { formatAccountsAs } from '../../io/accountsJson.js';
import type { OutputFormat } from '../../io/outputFormat.js';
import { ClusterError } from '../../cluster/clusterError.js';
import { RedisTransport } from '../../cluster/redisTransport.js';
import type { Transport } from '../../cluster/transport.js';
import type { RedisTarget } from '../../cluster/redisTarget.js';

export interface AccountsCommandOptions {
  redis: RedisTarget;
  prefix: string;
  wait: boolean;
  timeout: number;
  quiet?: boolean;
  format?: OutputFormat;
}

/** With --wait: how often to look whether every partition has caught up (a look is two small commands a partition). */
const WAIT_LOOK_MS = 25;

/** Partitions whose committed position is behind their newest entry. */
async function behind(transport: Transport, partitions: number): Promise<number[]> {
  const all = Array.from({ length: partitions }, (_, p) => p);
  // Issued at once: they go out back to back on the connection, not one round trip after another.
  const positions = await Promise.all(all.map((p) => Promise.all([transport.committed(p), transport.lastId(p)])));
  return all.filter((p) => positions[p]![0] !== positions[p]![1]);
}

/** The cluster's accounts: every partition's hash merged; a client in two partitions' hashes is refused (the merge would let one win). */
export async function mergedAccounts(transport: Transport, partitions: number): Promise<AccountBalances> {
  const accounts = { available: new Float64Array(CLIENT_COUNT), held: new Float64Array(CLIENT_COUNT), flags: new Uint8Array(CLIENT_COUNT) };
  const holder = new Int16Array(CLIENT_COUNT).fill(-1);
  for (let p = 0; p < partitions; p++) {
    for (const [client, value] of await transport.accounts(p)) {
      if (!(client >= 0 && client < CLIENT_COUNT)) throw new ClusterError(`partition ${p} holds an account for client '${client}', which is not a client id`);
      if (holder[client] !== -1) {
        throw new ClusterError(`client ${client} has an account in partitions ${holder[client]} and ${p} (clients belong to one partition: something other than payrun wrote there); not merging`);
      }
      holder[client] = p;
      const [available, held, flags] = value.split(' ').map(Number);
      accounts.available[client] = available!;
      accounts.held[client] = held!;
      accounts.flags[client] = flags!;
    }
  }
  return accounts;
}

/** `payrun accounts --redis URL [--wait]`: the merged accounts CSV of the whole cluster, as `payrun FILE` prints it. */
export async function accountsCommand(options: AccountsCommandOptions, io: CliIo): Promise<number> {
  const transport = new RedisTransport(options.redis, { prefix: options.prefix, patient: false });
  try {
    const partitions = await transport.partitions();
    if (partitions === undefined) throw new ClusterError(`nothing has been published under prefix '${options.prefix}' at ${options.redis.display}`);
    if (!options.wait) {
      // Balances as committed so far: say so when some rows are still to be applied.
      const lagging = await behind(transport, partitions);
      if (lagging.length > 0 && options.quiet !== true) {
        const which = lagging.length === 1 ? `partition ${lagging[0]} has` : `partitions ${lagging.join(', ')} have`;
        await writeAll(io.stderr, `payrun: ${which} published rows not applied yet: these balances are not final (--wait waits for them)\n`);
      }
    } else {
      const until = Date.now() + options.timeout * 1000;
      for (;;) {
        const lagging = await behind(transport, partitions);
        if (lagging.length === 0) break;
        if (Date.now() >= until) throw new ClusterError(`partitions ${lagging.join(', ')} still had rows to apply after ${options.timeout} s (are consumers running?)`);
        await new Promise((resolve) => setTimeout(resolve, WAIT_LOOK_MS));
      }
    }
    await writeAll(io.stdout, formatAccountsAs(await mergedAccounts(transport, partitions), options.format ?? 'csv'));
    return ExitCode.Ok;
  } catch (error) {
    await writeAll(io.stderr, `${describeRedisError(error, transport, options.redis.display)}\n`);
    return ExitCode.Fatal;
  } finally {
    await transport.close();
  }
}
