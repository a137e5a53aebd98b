import { Cluster, Redis } from 'ioredis';
import type { RedisTarget } from './redisTarget.js';

/**
 * The ioredis client for a `--redis` or `--redis-cluster` target, as every Redis user in payrun
 * makes it (the cluster's transport, the relay's source): commands in flight when the connection
 * drops are sent again, a connection attempt gives up after 5 s, `retry` paces reconnecting.
 * A Redis Cluster client has the same commands; each of payrun's names keys of one slot only.
 */
export function redisClient(target: RedisTarget, retry: (times: number) => number | null, maxRetriesPerRequest: number | null): Redis {
  const { host, port, db, username, password, tls, nodes } = target;
  const common = { username, password, tls: tls ? {} : undefined, autoResendUnfulfilledCommands: true, maxRetriesPerRequest, connectTimeout: 5000 };
  return nodes === undefined
    ? new Redis({ host, port, db, ...common, retryStrategy: retry })
    : (new Cluster(nodes, { redisOptions: common, clusterRetryStrategy: retry, enableReadyCheck: true, slotsRefreshTimeout: 5000 }) as unknown as Redis);
}
