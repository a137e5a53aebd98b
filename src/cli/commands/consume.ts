import { hostname } from 'node:os';
import { type CliIo, ExitCode } from '../cliIo.js';
import { writeAll } from '../../io/writeAll.js';
import { describeError } from '../errors.js';
import { type FsyncMode } from '../../journal/fsyncMode.js';
import { jsonLog } from '../../cluster/clusterLog.js';
import { Consumer } from '../../cluster/consumer.js';
import { serveMetrics } from '../../cluster/metricsServer.js';
import { RedisTransport } from '../../cluster/redisTransport.js';

export interface ConsumeCommandOptions {
  redis: string;
  prefix: string;
  journal: string;
  owner?: string;
  fsync?: FsyncMode;
  leaseMs: number;
  batch: number;
  metricsPort?: number;
  maxDeliveries: number;
  quiet: boolean;
}

/** How long a stop may take (a batch in hand waiting for an unreachable Redis) before the journals are closed anyway. */
const STOP_GRACE_MS = 10_000;

/** `payrun consume`: runs a consumer until SIGINT/SIGTERM; exit 0 after a clean stop. */
export async function consumeCommand(options: ConsumeCommandOptions, io: CliIo): Promise<number> {
  const owner = options.owner ?? `${hostname()}-${process.pid}`;
  const log = jsonLog(io.stderr, owner, options.quiet);
  const transport = new RedisTransport(options.redis, {
    prefix: options.prefix,
    patient: true,
    leaseMs: options.leaseMs,
    onConnection: (state, detail) => {
      log(state === 'down' ? 'redis_unreachable' : 'redis_back', { redis: options.redis, detail });
      if (state === 'up') consumer.redisBack();
    },
  });
  const consumer = new Consumer(
    transport,
    { owner, prefix: options.prefix, journal: options.journal, fsync: options.fsync ?? 'batch', leaseMs: options.leaseMs, batch: options.batch, metricsEveryMs: 5000, maxDeliveries: options.maxDeliveries },
    log,
  );
  let signal: string | undefined;
  let grace: NodeJS.Timeout | undefined;
  const onSignal = (name: string): void => {
    if (signal !== undefined) return;
    signal = name;
    log('stopping', { signal: name });
    consumer.stop();
    // Every journal record is whole at any await, so closing now loses nothing: a batch not yet committed is relayed by the next owner.
    const holding = consumer.partitionsOwned.length > 0;
    grace = setTimeout(() => {
      if (consumer.partitionsOwned.length === 0) {
        log('stopped', { rows: consumer.metrics.rows, commits: consumer.metrics.commits, note: 'Redis unreachable; nothing was held' });
        process.exit(ExitCode.Ok);
      }
      log('error', { error: `Redis did not answer within ${STOP_GRACE_MS / 1000} s of ${name}; stopping without the last commit (the next owner relays it)` });
      process.exit(ExitCode.Fatal);
    }, holding ? STOP_GRACE_MS : 1000);
    grace.unref();
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const metrics = options.metricsPort !== undefined ? await serveMetrics(options.metricsPort, owner, consumer) : undefined;
  try {
    await consumer.run();
    return ExitCode.Ok;
  } catch (error) {
    await writeAll(io.stderr, `${describeError(error)}\n`);
    return ExitCode.Fatal;
  } finally {
    clearTimeout(grace);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    metrics?.close();
    await transport.close();
  }
}
