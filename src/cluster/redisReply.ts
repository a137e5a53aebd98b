import { ClusterError } from './clusterError.js';

/**
 * What a Redis error reply means for the command that got it, by the reply's code (its first
 * word): `transient` replies pass on their own (retry with backoff, as for a dropped
 * connection); `permanent` ones come back the same until someone changes Redis's setup or data,
 * so the command ends with one line instead of retrying forever. Every code payrun can meet is
 * listed; a code not listed is permanent (Redis answered, and nothing says waiting helps).
 */
const REPLY_CLASS = {
  // Credentials and permissions.
  WRONGPASS: 'permanent',
  NOAUTH: 'permanent',
  NOPERM: 'permanent',
  // Data: a key under the prefix holds another type (another program's key), a stream or group deleted.
  WRONGTYPE: 'permanent',
  NOGROUP: 'permanent',
  EXECABORT: 'permanent',
  // The consumer group exists already (the one caller that creates it expects this).
  BUSYGROUP: 'permanent',
  // Redis Cluster answers to a client that is not cluster-aware (--redis instead of --redis-cluster).
  MOVED: 'permanent',
  ASK: 'permanent',
  CROSSSLOT: 'permanent',
  // A server busy, starting, failing over or short of memory or disk: it passes.
  LOADING: 'transient',
  BUSY: 'transient',
  MASTERDOWN: 'transient',
  TRYAGAIN: 'transient',
  CLUSTERDOWN: 'transient',
  READONLY: 'transient',
  MISCONF: 'transient',
  OOM: 'transient',
  NOREPLICAS: 'transient',
  UNBLOCKED: 'transient',
  // ioredis loads the script and sends it again.
  NOSCRIPT: 'transient',
  // Generic: permanent (an unknown command, a DB out of range, a script error) but for the one that passes.
  ERR: 'permanent',
} as const satisfies Record<string, 'transient' | 'permanent'>;

export type ReplyCode = keyof typeof REPLY_CLASS;

/** ERR replies that pass. */
const TRANSIENT_ERR = [/^ERR max number of clients reached/];

/** Hints for the codes an operator can fix. */
const HINT: Partial<Record<ReplyCode, string>> = {
  WRONGPASS: 'check the password (--redis-password-file FILE, REDIS_PASSWORD, or the URL) and user name',
  NOAUTH: 'this server needs a password: give it with --redis-password-file FILE or REDIS_PASSWORD',
  NOPERM: "the Redis user lacks a permission payrun needs (it runs scripts and reads and writes every key under its prefix)",
  WRONGTYPE: 'a key under the prefix holds a value of another type than payrun keeps there (another program\'s key? use another --prefix)',
  MOVED: 'this server is part of a Redis Cluster: give its nodes with --redis-cluster',
  CROSSSLOT: 'this server is part of a Redis Cluster: give its nodes with --redis-cluster',
};

/** An error reply's code, or undefined for anything that is not an error reply (a transport failure). */
export function replyCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return undefined;
  return /^([A-Z]+)\b/.exec(error.message)?.[1] ?? 'ERR';
}

export function isPermanent(error: unknown): boolean {
  const code = replyCode(error);
  if (code === undefined) return false;
  if (code === 'ERR') return !TRANSIENT_ERR.some((pattern) => pattern.test((error as Error).message));
  return (REPLY_CLASS as Record<string, string>)[code] !== 'transient';
}

/** Redis answered, and the answer will not change by waiting: the command ends with this one line. */
export class RedisRefused extends ClusterError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The RedisRefused for a permanent error reply (naming the server as shown and the command), else undefined. */
export function refusalOf(error: unknown, shown: string): RedisRefused | undefined {
  if (!isPermanent(error)) return undefined;
  const code = replyCode(error)!;
  // A script's error ends with " script: <sha>, on @user_script:N." — ours, not the operator's.
  const reply = (error as Error).message.split('\n')[0]!.replace(/ script: \w+, on @user_script:\d+\.?$/, '').replace(/\.$/, '');
  const command = (error as { command?: { name?: string; args?: unknown[] } }).command;
  const key = command?.name === 'evalsha' || command?.name === 'eval' ? command.args?.[2] : command?.args?.[0];
  const to = command?.name !== undefined && !['auth', 'info', 'select'].includes(command.name) ? ` (to ${command.name.toUpperCase()}${typeof key === 'string' ? ` ${key}` : ''})` : '';
  const hint = HINT[code as ReplyCode];
  return new RedisRefused(code, `redis at ${shown} refused: ${reply}${to}${hint !== undefined ? `; ${hint}` : ''}`);
}
