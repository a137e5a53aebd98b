import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

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
const ACQUIRE = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return redis.call('GET', KEYS[1]) or ''`;

/** Replaces the holder named (a dead one) with us; 0 when someone else holds it now. */
const REPLACE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end
return 0`;

/** Renews our lock; 0 when it is no longer ours. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
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

/** The lock of one group, held by this process: taken, renewed every third of its time to live, released. */
export class GroupLock {
  private readonly token = lockToken();
  private renewer: NodeJS.Timeout | undefined;
  /** Why the lock was lost while held (another relay has it now). */
  lost: string | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly group: string,
    private readonly answer: <T>(work: () => Promise<T>) => Promise<T>,
  ) {}

  /** Takes the lock, waiting (1 s polls) while a live relay holds it; false if stopped meanwhile. */
  async acquire(stopped: () => boolean, waiting: (holder: string) => void, lost: () => void): Promise<boolean> {
    const { redis, key, token } = this;
    for (let told = false; ; told = true) {
      const got = await this.answer(() => redis.eval(ACQUIRE, 1, key, token, LOCK_TTL_MS) as Promise<number | string>);
      if (got === 1) break;
      const holder = String(got);
      if (holder !== '' && holderIsGone(holder) && (await this.answer(() => redis.eval(REPLACE, 1, key, holder, token, LOCK_TTL_MS))) === 1) break;
      if (stopped()) return false;
      if (!told) waiting(holder);
      await sleep(1000);
    }
    this.renewer = setInterval(() => {
      redis.eval(RENEW, 1, key, token, LOCK_TTL_MS).then(
        (renewed) => {
          if (renewed === 1 || this.renewer === undefined) return;
          this.stopRenewing();
          this.lost = `another relay took the lock of group '${this.group}' (this one could not renew it for ${LOCK_TTL_MS / 1000} s)`;
          lost();
        },
        () => undefined, // Redis away: the next renewal tries again
      );
    }, LOCK_TTL_MS / 3);
    this.renewer.unref();
    return true;
  }

  stopRenewing(): void {
    clearInterval(this.renewer);
    this.renewer = undefined;
  }

  /** At a clean stop: the next relay need not wait. */
  async release(): Promise<void> {
    if (this.renewer === undefined) return;
    this.stopRenewing();
    await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => undefined);
  }
}
