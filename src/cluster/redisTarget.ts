import { readFileSync } from 'node:fs';
import { errnoText } from '../io/errnoText.js';

/** Redis's default `databases 16`: a DB beyond it is refused by the server, so it is refused here first. */
export const REDIS_DB_MAX = 15;
const DEFAULT_PORT = 6379;
const SHAPE = 'redis://[user[:password]@]host[:port][/db] or rediss://... (TLS)';

/** A `--redis` value that is not a Redis URL payrun can use: a usage error, reported at once. */
export class RedisTargetError extends Error {}

/** Where the cluster's Redis is, parsed once: ioredis gets these, never the raw URL. */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** The URL as it may be shown (logs, errors, process title): the password as `***`. */
  display: string;
  /** Whether the password came in the URL (it shows in process listings until payrun starts). */
  passwordInUrl: boolean;
  /** `--redis-cluster`: the seed nodes of a Redis Cluster (host and port above are the first). */
  nodes?: { host: string; port: number }[];
}

export interface PasswordSources {
  /** `--redis-password-file FILE`: its contents, less one trailing newline. */
  passwordFile?: string;
  /** REDIS_PASSWORD, then REDISCLI_AUTH (as redis-cli reads it). */
  env?: NodeJS.ProcessEnv;
}

/** A raw `--redis` value with anything that may be a password replaced by `***` (for error messages). */
export function redactRedisUrl(raw: string): string {
  const at = raw.lastIndexOf('@');
  if (at < 0) return raw;
  const scheme = raw.indexOf('://');
  const start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
  const userinfo = raw.slice(start, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return raw;
  return `${raw.slice(0, start)}${userinfo.slice(0, colon)}:***${raw.slice(at)}`;
}

function decoded(part: string, what: string, shown: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RedisTargetError(`--redis '${shown}': the ${what} is not valid percent-encoding`);
  }
}

/** The port as written after `://` (the URL parser only says "Invalid URL" for a bad one). */
function portOf(rest: string): string | undefined {
  const afterUser = rest.slice(rest.lastIndexOf('@') + 1);
  const hostPort = /^[^/?#]*/.exec(afterUser)![0];
  const colon = hostPort.startsWith('[') ? hostPort.indexOf(']:') + 1 : hostPort.lastIndexOf(':');
  return colon > 0 ? hostPort.slice(colon + 1) : undefined;
}

function passwordFrom(sources: PasswordSources): string | undefined {
  if (sources.passwordFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(sources.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new RedisTargetError(`cannot read --redis-password-file '${sources.passwordFile}': ${errnoText(error)}`);
    }
    if (text === '') throw new RedisTargetError(`--redis-password-file '${sources.passwordFile}' is empty`);
    return text;
  }
  const env = sources.env ?? {};
  return env.REDIS_PASSWORD || env.REDISCLI_AUTH || undefined;
}

/**
 * Parses `--redis`: redis:// or rediss:// (TLS), a host, a port 1–65535 (default 6379), a DB
 * 0–15 (default 0), no query string. The password comes from the URL, or
 * `--redis-password-file`, or REDIS_PASSWORD / REDISCLI_AUTH; throws RedisTargetError for a
 * value it cannot use (and for a password file it cannot read).
 */
export function redisTarget(raw: string, sources: PasswordSources = {}): RedisTarget {
  const shown = redactRedisUrl(raw);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) throw new RedisTargetError(`--redis '${shown}' is not a Redis URL; expected ${SHAPE}`);
  if (scheme !== 'redis' && scheme !== 'rediss') throw new RedisTargetError(`--redis '${shown}': the scheme must be redis:// or rediss:// (TLS), not ${scheme}://`);
  const port = portOf(raw.slice(scheme.length + 3));
  if (port !== undefined && port !== '' && (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65_535)) {
    throw new RedisTargetError(`--redis '${shown}': the port must be a number from 1 to 65535, not '${port}'`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RedisTargetError(`--redis '${shown}' is not a valid URL; expected ${SHAPE}`);
  }
  if (url.hostname === '') throw new RedisTargetError(`--redis '${shown}' names no host; expected ${SHAPE}`);
  if (url.search !== '' || url.hash !== '') throw new RedisTargetError(`--redis '${shown}': a query string or fragment is not supported; expected ${SHAPE}`);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && (!/^\d+$/.test(path) || Number(path) > REDIS_DB_MAX)) {
    throw new RedisTargetError(`--redis '${shown}': the database must be a number from 0 to ${REDIS_DB_MAX} (Redis's default 16 databases), not '${decoded(path, 'database', shown)}'`);
  }
  const username = url.username === '' ? undefined : decoded(url.username, 'user name', shown);
  const inUrl = url.password === '' ? undefined : decoded(url.password, 'password', shown);
  if (inUrl !== undefined && sources.passwordFile !== undefined) throw new RedisTargetError('the password is in both --redis and --redis-password-file; give it once');
  const password = inUrl ?? passwordFrom(sources);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const portNumber = url.port === '' ? DEFAULT_PORT : Number(url.port);
  const db = path === '' ? 0 : Number(path);
  const user = url.username === '' ? '' : url.username;
  const auth = password !== undefined ? `${user}:***@` : user !== '' ? `${user}@` : '';
  return {
    host,
    port: portNumber,
    db,
    username,
    password,
    tls: scheme === 'rediss',
    display: `${scheme}://${auth}${url.hostname}:${portNumber}${db !== 0 ? `/${db}` : ''}`,
    passwordInUrl: inUrl !== undefined,
  };
}

/**
 * Parses `--redis-cluster URL[,URL...]`: the seed nodes of a Redis Cluster, each a URL as for
 * --redis (DB 0 only: a cluster has no other), with one scheme and one set of credentials.
 */
export function redisClusterTarget(raw: string, sources: PasswordSources = {}): RedisTarget {
  const urls = raw.split(',').map((url) => url.trim()).filter((url) => url !== '');
  if (urls.length === 0) throw new RedisTargetError('--redis-cluster names no node; expected URL[,URL...]');
  const targets = urls.map((url) => {
    try {
      return redisTarget(url, sources);
    } catch (error) {
      if (error instanceof RedisTargetError) throw new RedisTargetError(error.message.replace(/^--redis /, '--redis-cluster '));
      throw error;
    }
  });
  const first = targets[0]!;
  for (const target of targets) {
    if (target.db !== 0) throw new RedisTargetError(`--redis-cluster '${target.display}': a Redis Cluster has database 0 only`);
    if (target.tls !== first.tls || target.username !== first.username || target.password !== first.password) {
      throw new RedisTargetError('--redis-cluster: every node must have the same scheme, user and password');
    }
  }
  return {
    ...first,
    display: targets.map((target) => target.display).join(','),
    passwordInUrl: targets.some((target) => target.passwordInUrl),
    nodes: targets.map(({ host, port }) => ({ host, port })),
  };
}
