// Operating the cluster commands through the real binary (issue 14): credentials never shown
// (logs, errors, the process listing) through a Redis outage; bad --redis values as usage errors;
// answers Redis will not change (a wrong password, a key of the wrong type) end the command
// instead of being retried; a busy --metrics-port and an unusable journal path end it at once;
// a publish survives a Redis restart. Each test that needs Redis starts its own redis-server.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, useBuiltBinary } from './support/builtBinary.js';
import { freePort, REDIS_MISSING_MESSAGE, type RedisServer, redisAvailable, startRedis } from './support/redisServer.js';

const available = redisAvailable();
if (!available) console.warn(REDIS_MISSING_MESSAGE);
const tmp = useBuiltBinary('payrun-cluster-ops-');
const PASSWORD = 'Hunter2-s3cret-PW';
const TEST_TIMEOUT_MS = 120_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** `node bin/payrun ...args` with its own environment (no REDIS_PASSWORD from ours); stderr to a file when `log` is given. */
function start(args: string[], options: { env?: Record<string, string>; log?: string } = {}): { child: ChildProcess; exited: Promise<Exit> } {
  const began = performance.now();
  const env = { PATH: process.env.PATH ?? '', ...options.env };
  const errFd = options.log !== undefined ? openSync(options.log, 'a') : undefined;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', errFd ?? 'pipe'] });
  if (errFd !== undefined) closeSync(errFd);
  children.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => out.push(d));
  child.stderr?.on('data', (d: Buffer) => err.push(d));
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code) => {
      children.delete(child);
      const stderr = options.log !== undefined ? readLog(options.log) : Buffer.concat(err).toString('utf8');
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr, ms: performance.now() - began });
    }),
  );
  return { child, exited };
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // removed with the temp dir after a failed test
  }
}

async function payrun(args: string[], env?: Record<string, string>, timeoutMs = 60_000): Promise<Exit> {
  const { child, exited } = start(args, { env });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = await exited;
  clearTimeout(timer);
  return exit;
}

async function until(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function events(log: string): { event: string; [field: string]: unknown }[] {
  return log
    .trimEnd()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { event: string });
}

function csv(name: string, rows: number): string {
  const file = join(tmp(), name);
  const lines = ['type,client,tx,amount'];
  for (let i = 1; i <= rows; i++) lines.push(`deposit,${i % 50},${i},1.5`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function closedPort(): Promise<number> {
  return freePort();
}

describe('bad --redis values: usage errors, at once', () => {
  it.each([
    ['notaurl', /^payrun: --redis 'notaurl' is not a Redis URL; expected redis:\/\/\[user\[:password\]@\]host\[:port\]\[\/db\] or rediss:\/\/\.\.\. \(TLS\)/],
    ['http://127.0.0.1:6379', /^payrun: --redis 'http:\/\/127\.0\.0\.1:6379': the scheme must be redis:\/\/ or rediss:\/\/ \(TLS\), not http:\/\//],
    ['redis://h:99999', /^payrun: --redis 'redis:\/\/h:99999': the port must be a number from 1 to 65535, not '99999'/],
    ['[::1', /^payrun: --redis '\[::1' is not a Redis URL/],
    ['%zz', /^payrun: --redis '%zz' is not a Redis URL/],
    ['redis://127.0.0.1:6379/abc', /^payrun: --redis 'redis:\/\/127\.0\.0\.1:6379\/abc': the database must be a number from 0 to 15 \(Redis's default 16 databases\), not 'abc'/],
    ['redis://127.0.0.1:6379/99', /not '99'/],
    [`redis://u:${PASSWORD}@h:99999`, /^payrun: --redis 'redis:\/\/u:\*\*\*@h:99999': the port/],
  ])('%s: exit 2, one line, for publish, consume and accounts', async (url, message) => {
    const file = csv('usage.csv', 1);
    for (const args of [['publish', file], ['consume', '--journal', join(tmp(), 'usage-j')], ['accounts']]) {
      const r = await payrun([...args, '--redis', url], undefined, 20_000);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/\(see 'payrun .*--help'\)\n$/);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toContain(PASSWORD);
      expect(r.ms).toBeLessThan(10_000);
    }
  });

  it('rediss:// (TLS) is accepted: it tries to connect', async () => {
    const r = await payrun(['accounts', '--redis', `rediss://127.0.0.1:${await closedPort()}/15`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^payrun: cannot reach redis at rediss:\/\/127\.0\.0\.1:\d+\/15: connect ECONNREFUSED/);
  });

  it('--help says a password in the URL shows in process listings, and where else to give it', async () => {
    const r = await payrun(['consume', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('A password in the URL shows in process listings');
    expect(help).toContain('REDIS_PASSWORD');
    expect(help).toContain('--redis-password-file');
    expect(help).toContain('db 0-15');
  });
});

describe('consume: what can fail at once does, before Redis', () => {
  it('a busy --metrics-port: one line, exit 1, at once (the Redis connection is never opened)', async () => {
    const busy: Server = createServer();
    const port = await new Promise<number>((resolve) => busy.listen(0, '127.0.0.1', () => resolve((busy.address() as { port: number }).port)));
    try {
      const r = await payrun(['consume', '--redis', `redis://127.0.0.1:${await closedPort()}`, '--journal', join(tmp(), 'mp-j'), '--metrics-port', String(port)], undefined, 20_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`payrun: cannot listen on 127.0.0.1:${port} for --metrics-port: address already in use\n`);
    } finally {
      busy.close();
    }
  });

  it.each([
    ['/proc/nonexist/x', 'no such file or directory'],
    ['FILE/x', 'not a directory'],
  ])('an unusable journal path %s: exit 1 at once with the reason, for the batch run and stream (consume accepts --journal and uses no disk)', async (path, reason) => {
    const file = csv('j.csv', 3);
    const dir = path.replace('FILE', file);
    const line = `payrun: cannot create journal directory '${dir}': ${reason}\n`;
    const batch = await payrun(['--journal', dir, file], undefined, 20_000);
    expect([batch.code, batch.stderr]).toEqual([1, line]);
    const stream = await payrun(['stream', '--journal', dir], undefined, 20_000);
    expect([stream.code, stream.stderr]).toEqual([1, line]);
    for (const r of [batch, stream]) expect(r.ms).toBeLessThan(10_000);
  });
});

describe.skipIf(!available)('with a real redis-server', () => {
  let server: RedisServer | undefined;
  afterAll(async () => {
    await server?.dispose();
  });

  it(
    'a requirepass server through an outage: the password is never shown (logs, errors, process listing); REDIS_PASSWORD, REDISCLI_AUTH and --redis-password-file work',
    async () => {
      server = await startRedis({ requirepass: PASSWORD });
      const withPassword = `redis://:${PASSWORD}@127.0.0.1:${server.port}`;
      const file = csv('pw.csv', 500);
      const journal = join(tmp(), 'pw-j');
      const log = join(tmp(), 'pw-consumer.log');
      const consumer = start(['consume', '--redis', withPassword, '--journal', journal, '--owner', 'pw', '--lease-ms', '1500'], { log });
      // The process listing shows the URL redacted once payrun runs.
      await until('the consumer to start', () => readFileSync(log, 'utf8').includes('"started"'));
      const cmdline = readFileSync(`/proc/${consumer.child.pid}/cmdline`, 'utf8');
      expect(cmdline).not.toContain(PASSWORD);
      expect(cmdline).toContain(`redis://:***@127.0.0.1:${server.port}`);

      const pwFile = join(tmp(), 'pw.txt');
      writeFileSync(pwFile, `${PASSWORD}\n`);
      const published = await payrun(['publish', file, '--redis', server.url, '--redis-password-file', pwFile, '--partitions', '2']);
      expect(published.code, published.stderr).toBe(0);
      const accounts = await payrun(['accounts', '--redis', server.url, '--wait', '--timeout', '60'], { REDIS_PASSWORD: PASSWORD });
      expect(accounts.code, accounts.stderr).toBe(0);
      expect(accounts.stdout.split('\n')[1]).toBe('0,15.0000,0.0000,15.0000,false');

      // An outage: redis_unreachable, then redis_back, both with the URL redacted.
      await server.stop();
      const down = await payrun(['accounts', '--redis', withPassword]);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/^payrun: cannot reach redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: connect ECONNREFUSED/);
      const publishDown = await payrun(['publish', file, '--redis', withPassword, '--timeout', '1']);
      expect(publishDown.code).toBe(1);
      expect(publishDown.stderr).toMatch(/^payrun: redis redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ unreachable/);
      await until('redis_unreachable', () => readFileSync(log, 'utf8').includes('"redis_unreachable"'));
      await server.restart();
      await until('redis_back', () => readFileSync(log, 'utf8').includes('"redis_back"'));
      const again = await payrun(['accounts', '--redis', server.url, '--wait', '--timeout', '60'], { REDISCLI_AUTH: PASSWORD });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(accounts.stdout);

      consumer.child.kill('SIGTERM');
      const stopped = await consumer.exited;
      expect(stopped.code, stopped.stderr).toBe(0);
      const kinds = events(stopped.stderr).map((e) => e.event);
      expect(kinds).toContain('redis_unreachable');
      expect(kinds).toContain('redis_back');
      const back = events(stopped.stderr).find((e) => e.event === 'redis_back')!;
      expect(back.redis).toBe(`redis://:***@127.0.0.1:${server.port}`);
      for (const text of [stopped.stderr, down.stderr, publishDown.stderr, published.stderr, accounts.stderr, again.stderr]) expect(text).not.toContain(PASSWORD);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a wrong password, none, or a key of the wrong type under the prefix: one line, exit 1, for publish, accounts and consume (not retried forever)',
    async () => {
      server ??= await startRedis({ requirepass: PASSWORD });
      const file = csv('refused.csv', 5);
      const journal = join(tmp(), 'refused-j');
      mkdirSync(journal, { recursive: true });
      const cases: [string, Record<string, string> | undefined, RegExp][] = [
        [`redis://:wrong@127.0.0.1:${server.port}`, undefined, /refused: WRONGPASS invalid username-password pair or user is disabled; check the password/],
        [server.url, undefined, /refused: NOAUTH Authentication required; this server needs a password/],
        [`redis://127.0.0.1:${server.port}`, { REDIS_PASSWORD: PASSWORD }, /refused: WRONGTYPE Operation against a key holding the wrong kind of value \(to H\w+ wt:meta\); a key under the prefix/],
      ];
      const redis = new Redis({ port: server.port, password: PASSWORD, lazyConnect: true });
      await redis.connect();
      await redis.set('wt:meta', 'x');
      await redis.quit();
      for (const [url, env, message] of cases) {
        const prefix = ['--prefix', 'wt'];
        const shown = `redis://${env === undefined && url === server.url ? '' : ':***@'}127.0.0.1:${server.port}`;
        for (const args of [['publish', file], ['accounts']]) {
          const r = await payrun([...args, '--redis', url, ...prefix], env, 30_000);
          expect(r.code, `${args[0]} ${url}: ${r.stderr}`).toBe(1);
          expect(r.stderr).toMatch(new RegExp(`^payrun: redis at ${shown.replace(/[.*/]/g, '\\$&')} refused: `));
          expect(r.stderr).toMatch(message);
          expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
          expect(r.stderr).not.toContain('wrong@');
        }
        const c = await payrun(['consume', '--redis', url, '--journal', journal, '--owner', 'rf', ...prefix], env, 30_000);
        expect(c.code, c.stderr).toBe(1);
        const logged = events(c.stderr);
        expect(logged.map((e) => e.event)).toEqual(['started', 'error']);
        expect(String(logged[1]!.error)).toMatch(message);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'publish survives a Redis restart mid-publish (within --timeout): every row is published once',
    async () => {
      const plain = await startRedis();
      try {
        const file = csv('restart.csv', 1_000_000);
        const publishing = start(['publish', file, '--redis', plain.url, '--partitions', '4', '--timeout', '60']);
        const redis = new Redis(plain.port, { lazyConnect: true, maxRetriesPerRequest: null });
        await redis.connect();
        await until('rows to arrive', async () => (await redis.xlen('{payrun:0}:tx').catch(() => 0)) > 8);
        redis.disconnect();
        await plain.restart();
        const r = await publishing.exited;
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/unreachable .*; retrying\n/);
        expect(r.stderr).toMatch(/payrun: published 1000000 rows of /);
        const after = new Redis(plain.port, { lazyConnect: true });
        await after.connect();
        // Rows per chunk entry: its field 'l' holds a u32 line per row.
        let rows = 0;
        const lines = new Set<number>();
        for (const p of [0, 1, 2, 3]) {
          for (const [, fields] of (await after.xrangeBuffer(`{payrun:${p}}:tx`, '-', '+')) as [Buffer, Buffer[]][]) {
            const l = fields[fields.findIndex((f) => f.toString() === 'l') + 1]!;
            for (let at = 0; at < l.length; at += 4) lines.add(l.readUInt32LE(at));
            rows += l.length / 4;
          }
        }
        await after.quit();
        expect(rows).toBe(1_000_000);
        expect(lines.size, 'every row once').toBe(1_000_000);
      } finally {
        await plain.dispose();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
