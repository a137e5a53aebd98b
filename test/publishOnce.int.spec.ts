// Publish adds each row once even when the same pipeline reaches Redis twice. ioredis sends a
// pipeline again after a dropped connection when no reply to it had arrived, though the server may
// have run it; a Redis restart mid-publish did this once in CI (1,012,544 rows in the streams for
// 1,000,000). Here a TCP proxy between the transport and a real redis-server passes the publish
// pipeline on, swallows Redis's replies to it and cuts the connection, so the reply is lost for
// certain; each chunk's PUBLISH script sees its rows are already there and adds nothing.
import { createServer, type Server, type Socket, connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chunk } from '../src/cluster/chunkEntry.js';
import { RedisTransport } from '../src/cluster/redisTransport.js';
import { redisTarget } from '../src/cluster/redisTarget.js';
import { REDIS_MISSING_MESSAGE, type RedisServer, redisAvailable, startRedis } from './support/redisServer.js';

const available = redisAvailable();
if (!available) console.warn(REDIS_MISSING_MESSAGE);

const MARK = 'MARK-publish-once';

function chunk(first: number, rows: number): Chunk {
  const lines = Uint32Array.from({ length: rows }, (_, i) => first + i);
  const text = Buffer.from([...lines].map((line) => `deposit,1,${line},1.0 ${MARK}\r\n`).join(''));
  return { input: 1, lines, text, duplicates: [] };
}

/** A proxy to Redis that, once, forwards the first write holding MARK and then drops every reply and cuts the connection. */
function cuttingProxy(port: number): Promise<{ server: Server; port: number; cuts: () => number }> {
  let cuts = 0;
  const server = createServer((client: Socket) => {
    const upstream = connect(port, '127.0.0.1');
    let swallowing = false;
    client.on('data', (data: Buffer) => {
      upstream.write(data);
      if (cuts === 0 && data.includes(MARK)) {
        cuts++;
        swallowing = true;
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
        }, 300);
      }
    });
    upstream.on('data', (data: Buffer) => {
      if (!swallowing) client.write(data);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, cuts: () => cuts })));
}

describe.skipIf(!available)('publish on a real redis-server', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it('a publish pipeline whose replies are lost and which ioredis sends again adds each row once', async () => {
    const proxy = await cuttingProxy(redis.port);
    const transport = new RedisTransport(redisTarget(`redis://127.0.0.1:${proxy.port}`), { prefix: 'once', patient: true });
    try {
      const chunks = new Map([
        [0, [chunk(1, 50), chunk(51, 50)]],
        [1, [chunk(101, 30)]],
      ]);
      await transport.publish(chunks);
      expect(proxy.cuts(), 'the proxy cut the connection mid-publish').toBe(1);
      // And once more on purpose, as `payrun publish` run again does: nothing is added.
      await transport.publish(chunks);
      expect(await transport.publishedLines(1, 2)).toEqual([100, 130]);
    } finally {
      await transport.close();
      proxy.server.close();
    }
    const check = new Redis(redis.port, { lazyConnect: true });
    await check.connect();
    try {
      const rows = async (p: number): Promise<number[]> => {
        const lines: number[] = [];
        for (const [, fields] of (await check.xrangeBuffer(`{once:${p}}:tx`, '-', '+')) as [Buffer, Buffer[]][]) {
          const l = fields[fields.findIndex((f) => f.toString() === 'l') + 1]!;
          for (let at = 0; at < l.length; at += 4) lines.push(l.readUInt32LE(at));
        }
        return lines;
      };
      expect(await rows(0)).toEqual(Array.from({ length: 100 }, (_, i) => 1 + i));
      expect(await rows(1)).toEqual(Array.from({ length: 30 }, (_, i) => 101 + i));
    } finally {
      await check.quit();
    }
  }, 30_000);
});
