import { describe, expect, it } from 'vitest';
import { ClientOrder } from '../src/relay/clientOrder.js';
import { DonePosition, parseCheckpoint, parseDeliveredLog, RelayStateError } from '../src/relay/deliveredLog.js';
import { defaultSourceId, makeDelivery, RelayInputError, selectEvent } from '../src/relay/relayEvent.js';
import { parseEndpoint, parseHeaders, parseRate, parseTypes, RelayOptionError } from '../src/relay/relayOptions.js';
import { backoffMs, classify, nextWaitMs, retryAfterMs } from '../src/relay/retryPolicy.js';
import { TokenBucket } from '../src/relay/tokenBucket.js';

describe('retry policy', () => {
  it.each([
    [200, 'delivered'],
    [201, 'delivered'],
    [204, 'delivered'],
    [400, 'permanent'],
    [401, 'permanent'],
    [404, 'permanent'],
    [422, 'permanent'],
    [408, 'retry'],
    [409, 'retry'],
    [425, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [301, 'permanent'],
  ])('status %i is %s', (status, verdict) => {
    expect(classify({ status })).toBe(verdict);
  });

  it('no answer (timeout, connection error) is retried', () => {
    expect(classify({ error: 'timeout after 1000 ms' })).toBe('retry');
  });

  it('Retry-After as seconds or as an HTTP date; unreadable is ignored; capped', () => {
    const now = Date.parse('2026-12-07T00:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Mon, 07 Dec 2026 00:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Sun, 06 Dec 2026 23:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-1', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs('999999', now)).toBe(300_000);
  });

  it('full jitter: a draw in [0, min(cap, base * 2^(attempt-1)))', () => {
    const policy = { baseMs: 100, capMs: 1000 };
    expect(backoffMs(1, policy, () => 0.999)).toBe(99);
    expect(backoffMs(3, policy, () => 0.5)).toBe(200);
    expect(backoffMs(10, policy, () => 0.999)).toBe(999);
    expect(backoffMs(500, policy, () => 0)).toBe(0);
  });

  it('429 and 503 wait what Retry-After says; other failures back off', () => {
    const policy = { baseMs: 100, capMs: 1000 };
    expect(nextWaitMs({ status: 429, retryAfter: '2' }, 1, policy, 0, () => 0.5)).toEqual({ waitMs: 2000, fromServer: true });
    expect(nextWaitMs({ status: 503, retryAfter: '1' }, 1, policy, 0, () => 0.5)).toEqual({ waitMs: 1000, fromServer: true });
    expect(nextWaitMs({ status: 503 }, 2, policy, 0, () => 0.5)).toEqual({ waitMs: 100, fromServer: false });
    expect(nextWaitMs({ status: 500, retryAfter: '9' }, 1, policy, 0, () => 0.5)).toEqual({ waitMs: 50, fromServer: false });
  });
});

describe('token bucket', () => {
  it('starts with one token, then refills at the rate up to the burst', () => {
    const bucket = new TokenBucket(10, 5, 0);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(100);
    expect(bucket.take(100)).toBe(0);
    // a long idle time refills only up to the burst
    let started = 0;
    while (bucket.take(10_000) === 0) started += 1;
    expect(started).toBe(5);
  });

  it('over any span, at most burst + rate * seconds requests start', () => {
    const bucket = new TokenBucket(50, 5, 0, 5);
    let started = 0;
    for (let now = 0; now <= 2000; now += 1) while (bucket.take(now) === 0) started += 1;
    expect(started).toBeLessThanOrEqual(5 + 50 * 2);
    expect(started).toBeGreaterThanOrEqual(50 * 2);
  });

  it('a pause (429 with Retry-After) holds every request until it ends, then starts empty', () => {
    const bucket = new TokenBucket(100, 10, 0, 10);
    bucket.pause(1000);
    expect(bucket.take(500)).toBe(500);
    expect(bucket.take(1000)).toBe(10);
    expect(bucket.take(1010)).toBe(0);
  });
});

describe('per-client order', () => {
  const d = (id: number, ...clients: number[]): { id: number; clients: number[] } => ({ id, clients });

  it('one client: one after another; other clients: at once', () => {
    const order = new ClientOrder<{ id: number; clients: number[] }>();
    const [a1, b1, a2, c1] = [d(1, 1), d(2, 2), d(3, 1), d(4, 3)];
    for (const x of [a1, b1, a2, c1]) order.add(x);
    expect([order.next(), order.next(), order.next(), order.next()]).toEqual([a1, b1, c1, undefined]);
    order.finish(b1);
    expect(order.next()).toBeUndefined();
    order.finish(a1);
    expect(order.next()).toBe(a2);
    order.finish(c1);
    order.finish(a2);
    expect(order.size).toBe(0);
  });

  it('a batch of several clients waits for each of them', () => {
    const order = new ClientOrder<{ id: number; clients: number[] }>();
    const [a, b, ab, c] = [d(1, 1), d(2, 2), d(3, 1, 2), d(4, 2)];
    for (const x of [a, b, ab, c]) order.add(x);
    expect([order.next(), order.next(), order.next()]).toEqual([a, b, undefined]);
    order.finish(a);
    expect(order.next()).toBeUndefined();
    order.finish(b);
    expect(order.next()).toBe(ab);
    order.finish(ab);
    expect(order.next()).toBe(c);
  });

  it('random finishing order never starts a client out of order and never stalls', () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      let s = seed;
      const random = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const order = new ClientOrder<{ id: number; clients: number[] }>();
      const all = Array.from({ length: 300 }, (_, i) => d(i, Math.floor(random() * 10), ...(random() < 0.2 ? [Math.floor(random() * 10)] : [])));
      for (const x of all) order.add({ ...x, clients: [...new Set(x.clients)] });
      const lastStarted = new Map<number, number>();
      const running: { id: number; clients: number[] }[] = [];
      let finished = 0;
      while (finished < all.length) {
        for (let next = order.next(); next !== undefined; next = order.next()) {
          for (const c of next.clients) {
            expect(next.id).toBeGreaterThan(lastStarted.get(c) ?? -1);
            lastStarted.set(c, next.id);
          }
          running.push(next);
        }
        expect(running.length).toBeGreaterThan(0);
        order.finish(running.splice(Math.floor(random() * running.length), 1)[0]!);
        finished += 1;
      }
    }
  });
});

describe('delivered log and position', () => {
  it('parses whole lines and leaves a torn last line out', () => {
    expect(parseDeliveredLog('1\n2 3\n17', 'x')).toEqual({ lines: [1, 2, 3], wholeBytes: 6 });
    expect(parseDeliveredLog('', 'x')).toEqual({ lines: [], wholeBytes: 0 });
  });

  it('a damaged whole line is an error naming the file and line', () => {
    expect(() => parseDeliveredLog('1\nxx\n', 'state/delivered-0.log')).toThrow(/state\/delivered-0.log' is damaged at line 2/);
    expect(() => parseDeliveredLog('0\n', 'f')).toThrow(RelayStateError);
  });

  it('a checkpoint must be what the relay writes', () => {
    expect(parseCheckpoint('{"generation":2,"lowWater":10,"done":[12,15]}', 'c')).toEqual({ generation: 2, lowWater: 10, done: [12, 15] });
    expect(() => parseCheckpoint('{"generation":-1,"lowWater":0,"done":[]}', 'c')).toThrow(RelayStateError);
    expect(() => parseCheckpoint('nope', 'c')).toThrow(/not JSON/);
  });

  it('the low-water mark advances over done lines in input order, whatever order they finish in', () => {
    const position = new DonePosition({ lowWater: 0, done: [] });
    for (const line of [2, 3, 5, 8]) expect(position.read(line)).toBe(false);
    position.finish([5]);
    expect(position.lowWater).toBe(1);
    position.finish([2]);
    expect(position.lowWater).toBe(2);
    position.finish([3]);
    expect(position.lowWater).toBe(7);
    expect(position.doneAbove()).toEqual([]);
    position.finish([8]);
    expect(position.lowWater).toBe(8);
  });

  it('restored: lines at or under the mark and done lines above it are skipped', () => {
    const position = new DonePosition({ lowWater: 10, done: [4, 12, 14] });
    expect([3, 10, 11, 12, 13, 14].map((line) => position.read(line))).toEqual([true, true, false, true, false, true]);
    expect(position.doneAbove()).toEqual([12, 14]);
    position.finish([11]);
    expect(position.lowWater).toBe(12);
    position.finish([13]);
    expect(position.lowWater).toBe(14);
    expect(position.doneAbove()).toEqual([]);
  });
});

describe('events and deliveries', () => {
  const applied = '{"line":2,"result":"applied","type":"withdrawal","client":7,"tx":3,"amount":"1.5000"}';

  it('sends applied events of the chosen types, never rejected ones', () => {
    expect(selectEvent(applied, 4, undefined)).toEqual({ line: 4, client: 7, text: applied });
    expect(selectEvent(applied, 4, new Set(['deposit']))).toBeUndefined();
    expect(selectEvent('{"line":3,"result":"rejected","reason":"MALFORMED_ROW","row":"x"}', 5, undefined)).toBeUndefined();
    expect(selectEvent('  ', 6, undefined)).toBeUndefined();
  });

  it('a line that is not an event of payrun stream is an error with its line', () => {
    expect(() => selectEvent('type,client', 9, undefined)).toThrow(RelayInputError);
    expect(() => selectEvent('{"line":1}', 9, undefined)).toThrow(/no "result"/);
    expect(() => selectEvent('{"result":"applied"}', 9, undefined)).toThrow(/without a type or client/);
  });

  it('keys name the source and the input lines; a batch is a JSON array', () => {
    const e = (line: number, client: number): { line: number; client: number; text: string } => ({ line, client, text: `{"line":${line}}` });
    expect(makeDelivery('abc', [e(4, 1)], false)).toEqual({ key: 'abc:4', lines: [4], clients: [1], body: '{"line":4}', attempts: 0 });
    expect(makeDelivery('abc', [e(4, 1), e(6, 2), e(9, 1)], true)).toMatchObject({ key: 'abc:4-9', lines: [4, 6, 9], clients: [1, 2], body: '[{"line":4},{"line":6},{"line":9}]' });
    expect(defaultSourceId(applied)).toBe(defaultSourceId(`${applied}\r`));
    expect(defaultSourceId(applied)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('relay options', () => {
  it('--rate takes N/s or N', () => {
    expect(parseRate('50/s')).toBe(50);
    expect(parseRate('0.5/s')).toBe(0.5);
    expect(parseRate('200')).toBe(200);
    for (const bad of ['0/s', 'fast', '-3/s', '5/m']) expect(() => parseRate(bad)).toThrow(RelayOptionError);
  });

  it('--types must name event types', () => {
    expect(parseTypes('withdrawal, Deposit')).toEqual(new Set(['withdrawal', 'deposit']));
    expect(parseTypes(undefined)).toBeUndefined();
    expect(() => parseTypes('withdrawal,refund')).toThrow(/not 'refund'/);
  });

  it('--header and PAYRUN_RELAY_AUTHORIZATION; an error never shows a value', () => {
    expect(parseHeaders(['X-Team: payouts', 'Authorization: Bearer abc'], {})).toEqual({ 'x-team': 'payouts', authorization: 'Bearer abc' });
    expect(parseHeaders([], { PAYRUN_RELAY_AUTHORIZATION: 'Bearer env' })).toEqual({ authorization: 'Bearer env' });
    const failures = [
      () => parseHeaders(['Bearer secret-1'], {}),
      () => parseHeaders(['Authorization: secret-2'], { PAYRUN_RELAY_AUTHORIZATION: 'secret-3' }),
      () => parseHeaders(['Idempotency-Key: secret-4'], {}),
      () => parseHeaders(['X: secret-5\nY: 1'], {}),
    ];
    for (const failure of failures) {
      expect(failure).toThrow(RelayOptionError);
      try {
        failure();
      } catch (error) {
        expect((error as Error).message).not.toMatch(/secret/);
      }
    }
  });

  it('--to is an http(s) URL without credentials', () => {
    expect(parseEndpoint('https://payouts.example/v1/events?x=1').pathname).toBe('/v1/events');
    expect(() => parseEndpoint('ftp://x/y')).toThrow(RelayOptionError);
    expect(() => parseEndpoint('https://user:secret@x/y')).toThrow(/must not hold a user/);
    expect(() => parseEndpoint('not a url')).toThrow(RelayOptionError);
  });
});
