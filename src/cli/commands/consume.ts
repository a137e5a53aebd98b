import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { type CliIo, ExitCode } from '../cliIo.js';
import { writeAll } from '../../io/writeAll.js';
import { describeError } from '../errors.js';
import { jsonLog } from '../../cluster/clusterLog.js';
import { Consumer } from '../../cluster/consumer.js';
import { prometheusText } from '../../cluster/metricsServer.js';
import { serveMetrics } from '../../io/metricsServer.js';
import { RedisRefused } from '../../cluster/redisReply.js';
import type { RedisTarget } from '../../cluster/redisTarget.js';
import { RedisTransport } from '../../cluster/redisTransport.js';

export interface ConsumeCommandOptions {
  redis: RedisTarget;
  prefix: string;
  /** Accepted and not used: a consumer keeps nothing on disk (the partitions' state is in Redis). */
  journal?: string;
  owner?: string;
  leaseMs: number;
  batch: number;
  metricsPort?: number;
  maxDeliveries: number;
  quiet: boolean;
}

/** How long a stop may take (a batch in hand waiting for an unreachable Redis) before the process ends anyway. */
const STOP_GRACE_MS = 10_000;

/** `payrun consume`: runs a consumer until SIGINT/SIGTERM; exit 0 after a clean stop. */
export async function consumeCommand(options: ConsumeCommandOptions, io: CliIo): Promise<number> {
  const owner = options.owner ?? `${hostname()}-${process.pid}`;
  const log = jsonLog(io.stderr, owner, options.quiet);
  // What can fail at once does, before Redis is connected: the metrics port.
  let consumer: Consumer | undefined;
  let metrics: Server | undefined;
  try {
    if (options.metricsPort !== undefined) metrics = await serveMetrics(options.metricsPort, () => (consumer === undefined ? '' : prometheusText(owner, consumer)));
  } catch (error) {
    await writeAll(io.stderr, `${describeError(error)}\n`);
    return ExitCode.Fatal;
  }
  const transport = new RedisTransport(options.redis, {
    prefix: options.prefix,
    patient: true,
    leaseMs: options.leaseMs,
    onConnection: (state, detail) => {
      log(state === 'down' ? 'redis_unreachable' : 'redis_back', { redis: options.redis.display, detail });
      if (state === 'up') running.redisBack();
    },
  });
  const running = new Consumer(
    transport,
    { owner, prefix: options.prefix, leaseMs: options.leaseMs, batch: options.batch, metricsEveryMs: 5000, maxDeliveries: options.maxDeliveries },
    log,
  );
  consumer = running;
  let signal: string | undefined;
  let grace: NodeJS.Timeout | undefined;
  const onSignal = (name: string): void => {
    if (signal !== undefined) return;
    signal = name;
    log('stopping', { signal: name });
    running.stop();
    // The state is in Redis as of the last commit, so stopping now loses nothing: a batch not yet committed is decided again by the next owner.
    const holding = running.partitionsOwned.length > 0;
    grace = setTimeout(() => {
      const unreachable = transport.unreachable !== undefined;
      if (running.partitionsOwned.length === 0) {
        const note = unreachable ? 'Redis unreachable; nothing was held' : 'a Redis command in progress did not end; nothing was held';
        log('stopped', { rows: running.metrics.rows, commits: running.metrics.commits, note });
        process.exit(ExitCode.Ok);
      }
      const why = unreachable ? `Redis was unreachable (${transport.unreachable}) for ${STOP_GRACE_MS / 1000} s after ${name}` : `the commit in hand did not end within ${STOP_GRACE_MS / 1000} s of ${name}`;
      log('error', { error: `${why}; stopping without the last commit (the next owner relays it)` });
      process.exit(ExitCode.Fatal);
    }, holding ? STOP_GRACE_MS : 1000);
    grace.unref();
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    await running.run();
    return ExitCode.Ok;
  } catch (error) {
    // Redis answered with something waiting will not change: a JSON line like every other event of the run.
    if (error instanceof RedisRefused) log('error', { error: error.message, code: error.code });
    else await writeAll(io.stderr, `${describeError(error)}\n`);
    return ExitCode.Fatal;
  } finally {
    clearTimeout(grace);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    metrics?.close();
    await transport.close();
  }
}
