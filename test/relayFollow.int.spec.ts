// `payrun relay --from FILE --follow`: a growing events file relayed as it grows (tail -f), a line
// written in two pieces sent once whole, until SIGTERM; a restart goes on after what was done.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type PayrunExit, spawnPayrun } from './support/crashLoop.js';
import { PayoutServer } from './support/payoutServer.js';
import { makeEvents } from './support/relayKillRun.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('payrun relay --follow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'payrun-relay-follow-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const lines = readFileSync(makeEvents(dir, 900, 30, 5), 'utf8').trimEnd().split('\n');
  const applied = (upTo: number): number => lines.slice(0, upTo).filter((l) => l.includes('"applied"')).length;

  /** Runs the relay with --follow; `grow` runs while it does, then SIGTERM. */
  async function following(file: string, server: PayoutServer, record: string, state: string, grow: (accepted: () => number) => Promise<void>): Promise<PayrunExit> {
    const accepted = (): number => {
      try {
        return readFileSync(record, 'utf8').split('\n').filter((l) => l.includes('"kind":"accepted"')).length;
      } catch {
        return 0;
      }
    };
    let send: (signal: NodeJS.Signals) => void = () => undefined;
    const run = spawnPayrun(['relay', '--from', file, '--to', server.url, '--state', state, '--follow', '--concurrency', '4'], { control: (_child, signal) => void (send = signal) });
    try {
      await grow(accepted);
      send('SIGTERM');
      return await run;
    } finally {
      send('SIGKILL');
      await run.catch(() => undefined);
    }
  }

  async function until(done: () => boolean, what: string): Promise<void> {
    for (const deadline = Date.now() + 60_000; !done(); await sleep(100)) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }

  it('sends lines as the file grows (a line written in two pieces once whole), until SIGTERM; a restart sends only the new lines', async () => {
    const file = join(dir, 'growing.ndjson');
    const state = join(dir, 'state');
    writeFileSync(file, `${lines.slice(0, 300).join('\n')}\n`);
    const server = await PayoutServer.start({ record: join(dir, 'requests.ndjson') });
    let first: PayrunExit;
    try {
      first = await following(file, server, join(dir, 'requests.ndjson'), state, async (accepted) => {
        await until(() => accepted() === applied(300), 'the first 300 lines');
        // Half a line: not sent until its end is written.
        const half = lines[300]!;
        appendFileSync(file, half.slice(0, 20));
        await sleep(600);
        expect(accepted()).toBe(applied(300));
        appendFileSync(file, `${half.slice(20)}\n${lines.slice(301, 600).join('\n')}\n`);
        await until(() => accepted() === applied(600), 'the lines up to 600');
      });
    } finally {
      await server.stop();
    }
    expect(first.code, first.stderr).toBe(143);
    expect(first.stderr).toContain(`payrun: relay stopped by SIGTERM; ${applied(600)} events delivered this run`);
    const keys = server.records().filter((r) => r.kind === 'accepted').map((r) => r.key);
    expect(new Set(keys).size).toBe(applied(600));
    expect(server.records().filter((r) => r.kind === 'duplicate')).toEqual([]);

    // Restarted on a grown file: only the new lines go.
    appendFileSync(file, `${lines.slice(600).join('\n')}\n`);
    const again = await PayoutServer.start({ record: join(dir, 'again.ndjson') });
    let second: PayrunExit;
    try {
      second = await following(file, again, join(dir, 'again.ndjson'), state, (accepted) => until(() => accepted() === applied(lines.length) - applied(600), 'the rest'));
    } finally {
      await again.stop();
    }
    expect(second.code, second.stderr).toBe(143);
    const lineOf = (key: string): number => Number(key.split(':')[1]);
    expect(again.records().every((r) => lineOf(r.key) > 600)).toBe(true);
  }, 120_000);

  it('a followed file that shrinks: one line, exit 1; --follow with --batch, stdin or Redis: usage errors', async () => {
    const file = join(dir, 'shrinking.ndjson');
    writeFileSync(file, `${lines.slice(0, 50).join('\n')}\n`);
    const server = await PayoutServer.start({ record: join(dir, 'shrink.ndjson') });
    let run: PayrunExit;
    try {
      run = await following(file, server, join(dir, 'shrink.ndjson'), join(dir, 'shrink-state'), async (accepted) => {
        await until(() => accepted() === applied(50), 'the 50 lines');
        truncateSync(file, 10);
        await sleep(1500);
      });
    } finally {
      await server.stop();
    }
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/payrun: '.*shrinking\.ndjson' shrank below the \d+ bytes read: --follow needs a file that only grows\n$/);

    const usage = async (args: string[], message: string): Promise<void> => {
      const r = await spawnPayrun(['relay', '--to', 'http://127.0.0.1:9/x', '--follow', ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`payrun: ${message}`);
    };
    await usage(['--from', file, '--state', join(dir, 'u'), '--batch', '5'], '--follow sends one event a request');
    await usage(['--from', '-', '--state', join(dir, 'u')], '--follow is for a file: standard input is read until it ends anyway');
    await usage(['--from', 'redis://127.0.0.1:6379', '--dead-letter', join(dir, 'd')], '--follow is for a file: a Redis source follows the cluster anyway');
  }, 60_000);
});
