// The cluster commands' usage and connection errors through the real binary: one line on stderr
// and an exit code, never a stack trace or a silent exit 0. No redis-server needed: the Redis
// they are pointed at is a closed port.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/payrun', import.meta.url));
let closed = '';
let file = '';

function payrun(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input: '', timeout: 60_000, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A port nothing listens on (bound, read, released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  closed = `redis://127.0.0.1:${await closedPort()}`;
  file = join(mkdtempSync(join(tmpdir(), 'payrun-cluster-cli-')), 'tx.csv');
  writeFileSync(file, 'type,client,tx,amount\ndeposit,1,1,1.0\n');
});
afterAll(() => rmSync(dirname(file), { recursive: true, force: true }));

describe('cluster commands: clear errors', () => {
  it('publish gives up on an unreachable Redis after --timeout, in one line, exit 1', () => {
    const r = payrun('publish', file, '--redis', closed, '--timeout', '1');
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^payrun: redis redis:\/\/127\.0\.0\.1:\d+ unreachable \(connect ECONNREFUSED .*\); retrying$/);
    expect(lines.at(-1)).toMatch(/^payrun: cannot reach redis at redis:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED \S+ \(gave up after 1 s; publishing again adds only what is missing\)$/);
    expect(lines).toHaveLength(2);
  });

  it('accounts on an unreachable Redis: one line, exit 1', () => {
    const r = payrun('accounts', '--redis', closed);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^payrun: cannot reach redis at redis:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED \S+\n$/);
  });

  it('consume on an unreachable Redis logs it as JSON and stops at once on SIGTERM (it held nothing)', async () => {
    const child = spawn(process.execPath, [BIN, 'consume', '--redis', closed, '--journal', join(dirname(file), 'journal'), '--owner', 't'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    // SIGTERM once it has said Redis is unreachable (a fixed sleep lost the race on a loaded box).
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('redis_unreachable')) child.kill('SIGTERM');
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status).toBe(0);
    const events = stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as { event: string; owner: string });
    expect(events.map((e) => e.event)).toEqual(['started', 'redis_unreachable', 'stopping', 'stopped']);
    expect(new Set(events.map((e) => e.owner))).toEqual(new Set(['t']));
  });

  it.each([
    [['publish', '-'], /^payrun: publish needs a regular file/],
    [['consume', '--redis', 'redis://127.0.0.1:1', '--redis-cluster', 'redis://127.0.0.1:2'], /^payrun: --redis and --redis-cluster do not go together: give one/],
    [['accounts', '--redis-cluster', 'redis://127.0.0.1:7000/3'], /^payrun: --redis-cluster 'redis:\/\/127\.0\.0\.1:7000\/3': a Redis Cluster has database 0 only/],
    [['accounts', '--prefix', 'a b'], /^payrun: --prefix may hold only letters, digits and _ \. - \{ \}/],
    [['publish', 'x.csv', '--partitions', '0'], /^payrun: option '--partitions <n>' argument '0' is invalid/],
    [['consume', '--journal', 'd', '--lease-ms', '10'], /--lease-ms must be between 300 and 600000/],
  ])('usage error %j: one line, exit 2', (args, message) => {
    const r = payrun(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('publish of a missing file: one line, exit 1', () => {
    const r = payrun('publish', join(tmpdir(), 'no-such-payrun-file.csv'), '--redis', closed);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^payrun: cannot read '.*no-such-payrun-file\.csv': no such file or directory\n$/);
  });
});
