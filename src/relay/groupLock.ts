import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/**
 * One relay per consumer group: two would share out a partition's entries (and its pending ones),
 * sending one client's events out of order. The lock is a Redis key holding the holder's
 * `host:pid:nonce`, taken with SET NX and a time to live, renewed while the relay runs, deleted at
 * a clean stop. A relay killed with kill -9 leaves it until it expires, unless the next relay
 * runs on the same host and finds that pid gone: then it takes the lock at once (restarts after a
 * crash do not wait out the time to live).
 */
export const LOCK_TTL_MS = 15_000;

/** SET NX; else the holder. */
export const ACQUIRE = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return redis.call('GET', KEYS[1]) or ''`;

/** Replaces the holder named (a dead one) with us; 0 when someone else holds it now. */
export const REPLACE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end
return 0`;

/** Renews our lock; 0 when it is no longer ours. */
export const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

export const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export function lockToken(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** Whether a holder's token names a process on this host that is gone (its lock may be taken). */
export function holderIsGone(token: string, isAlive: (pid: number) => boolean = processAlive): boolean {
  const [host, pid] = token.split(':');
  if (host !== hostname() || pid === undefined || !/^\d+$/.test(pid)) return false;
  return Number(pid) !== process.pid && !isAlive(Number(pid));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists (another user's).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
