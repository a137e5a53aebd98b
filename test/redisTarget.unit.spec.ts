import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isPermanent, refusalOf, replyCode } from '../src/cluster/redisReply.js';
import { redactRedisUrl, redisTarget, RedisTargetError } from '../src/cluster/redisTarget.js';

describe('redisTarget: --redis parsed once, shown without its password', () => {
  it('reads host, port, db, user, password and TLS', () => {
    expect(redisTarget('redis://127.0.0.1:6380/3')).toMatchObject({ host: '127.0.0.1', port: 6380, db: 3, tls: false, display: 'redis://127.0.0.1:6380/3' });
    expect(redisTarget('redis://h')).toMatchObject({ host: 'h', port: 6379, db: 0, display: 'redis://h:6379' });
    expect(redisTarget('rediss://u:p%40ss@[::1]:6390/0')).toMatchObject({
      host: '::1',
      port: 6390,
      db: 0,
      username: 'u',
      password: 'p@ss',
      tls: true,
      display: 'rediss://u:***@[::1]:6390',
      passwordInUrl: true,
    });
    expect(redisTarget('redis://:pw@h:1/15')).toMatchObject({ username: undefined, password: 'pw', db: 15, display: 'redis://:***@h:1/15' });
  });

  it('takes the password from --redis-password-file, else REDIS_PASSWORD, else REDISCLI_AUTH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'payrun-pw-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'pw');
    writeFileSync(file, 'from-file\n');
    expect(redisTarget('redis://h', { passwordFile: file, env: { REDIS_PASSWORD: 'env' } })).toMatchObject({ password: 'from-file', passwordInUrl: false, display: 'redis://:***@h:6379' });
    expect(redisTarget('redis://h', { env: { REDIS_PASSWORD: 'a', REDISCLI_AUTH: 'b' } }).password).toBe('a');
    expect(redisTarget('redis://h', { env: { REDISCLI_AUTH: 'b' } }).password).toBe('b');
    expect(redisTarget('redis://:url@h', { env: { REDIS_PASSWORD: 'a' } }).password).toBe('url');
    expect(() => redisTarget('redis://:url@h', { passwordFile: file })).toThrow(/both --redis and --redis-password-file/);
    writeFileSync(file, '');
    expect(() => redisTarget('redis://h', { passwordFile: file })).toThrow(/is empty/);
    expect(() => redisTarget('redis://h', { passwordFile: join(file, 'nope') })).toThrow(/cannot read --redis-password-file .*: not a directory/);
  });

  it.each([
    ['notaurl', /is not a Redis URL/],
    ['http://host:6379', /the scheme must be redis:\/\/ or rediss:\/\/ \(TLS\), not http:\/\//],
    ['redis://h:99999', /the port must be a number from 1 to 65535, not '99999'/],
    ['redis://h:0', /the port must be a number from 1 to 65535, not '0'/],
    ['redis://h:12ab', /the port must be a number from 1 to 65535, not '12ab'/],
    ['[::1', /is not a Redis URL/],
    ['redis://[::1', /is not a valid URL/],
    ['%zz', /is not a Redis URL/],
    ['redis://h/abc', /the database must be a number from 0 to 15 .*, not 'abc'/],
    ['redis://h/99', /the database must be a number from 0 to 15 .*, not '99'/],
    ['redis://h/16', /not '16'/],
    ['redis://h?db=2', /a query string or fragment is not supported/],
    ['redis:///x', /names no host/],
    ['redis://:p%zz@h', /the password is not valid percent-encoding/],
  ])('%s is a usage error', (raw, message) => {
    expect(() => redisTarget(raw)).toThrow(RedisTargetError);
    expect(() => redisTarget(raw)).toThrow(message);
  });

  it('never shows a password in an error', () => {
    for (const raw of ['redis://u:hunter2@h:99999', 'redis://:hunter2@h/abc', 'http://:hunter2@h', 'x:hunter2@h', 'redis://:hunter2@[::1']) {
      expect(() => redisTarget(raw)).toThrow(RedisTargetError);
      try {
        redisTarget(raw);
      } catch (error) {
        expect((error as Error).message).not.toContain('hunter2');
      }
    }
    expect(redactRedisUrl('redis://u:a:b@c@h:1')).toBe('redis://u:***@h:1');
    expect(redactRedisUrl('redis://u@h:1')).toBe('redis://u@h:1');
  });
});

describe('redisReply: error replies classified by code', () => {
  const reply = (message: string): Error => Object.assign(new Error(message), { name: 'ReplyError' });

  it('permanent: credentials, permissions, types, unknown codes, ERR; transient: a busy or starting server, a dropped connection', () => {
    for (const message of ['WRONGPASS invalid username-password pair', 'NOAUTH Authentication required.', 'NOPERM this user has no permissions', 'WRONGTYPE Operation against a key holding the wrong kind of value', 'ERR DB index is out of range', 'SOMETHINGNEW x']) {
      expect(isPermanent(reply(message)), message).toBe(true);
    }
    for (const message of ['LOADING Redis is loading the dataset in memory', 'BUSY Redis is busy running a script', 'OOM command not allowed', 'READONLY You can\'t write against a read only replica.', 'ERR max number of clients reached']) {
      expect(isPermanent(reply(message)), message).toBe(false);
    }
    expect(isPermanent(new Error('connect ECONNREFUSED 127.0.0.1:1'))).toBe(false);
    expect(isPermanent(Object.assign(new Error('Command aborted due to connection close'), { name: 'AbortError' }))).toBe(false);
    expect(replyCode(new Error('WRONGPASS x'))).toBeUndefined();
  });

  it('says what was refused in one line, without the script trailer', () => {
    const error = Object.assign(reply('WRONGTYPE Operation against a key holding the wrong kind of value script: abc123, on @user_script:12.'), {
      command: { name: 'evalsha', args: ['abc123', '1', 'payrun:tx:0'] },
    });
    expect(refusalOf(error, 'redis://:***@h:1')?.message).toBe(
      "redis at redis://:***@h:1 refused: WRONGTYPE Operation against a key holding the wrong kind of value (to EVALSHA payrun:tx:0); a key under the prefix holds a value of another type than payrun keeps there (another program's key? use another --prefix)",
    );
    expect(refusalOf(reply('LOADING x'), 'r')).toBeUndefined();
  });
});
