// The relay's progress bar: only on a terminal; log lines go above it; the events delivered,
// the rate and (for a file) the input line read of the file's lines.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startRelayBar } from '../src/relay/relayBar.js';
import { relayLog } from '../src/relay/relayLog.js';
import { RelayMetrics } from '../src/relay/relayMetrics.js';

function terminal(isTTY: boolean): Writable & { isTTY: boolean; text: () => string; columns: number } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as Writable & { isTTY: boolean; text: () => string; columns: number };
  stream.isTTY = isTTY;
  stream.columns = 200;
  stream.text = () => chunks.join('');
  return stream;
}

describe('relay progress bar', () => {
  it('is not drawn when stderr is not a terminal (log lines go straight to it)', async () => {
    const stderr = terminal(false);
    expect(await startRelayBar(stderr, new RelayMetrics(), { line: () => 0, total: () => undefined })).toBeUndefined();
    relayLog(stderr, false, () => undefined)('delivered', { events: 1 });
    expect(stderr.text()).toMatch(/^\{"time":".*","event":"delivered","events":1\}\n$/);
  });

  it('on a terminal: the events delivered and the line read of the total; log lines above it, `delivered` lines left to the bar', async () => {
    const stderr = terminal(true);
    const metrics = new RelayMetrics();
    metrics.events = 42;
    metrics.deadLetters = 1;
    const bar = (await startRelayBar(stderr, metrics, { line: () => 50, total: () => 200 }))!;
    expect(bar).toBeDefined();
    const log = relayLog(stderr, false, () => bar);
    log('delivered', { events: 42 });
    log('dead_letter', { key: 'k:7' });
    await new Promise((resolve) => setTimeout(resolve, 450));
    bar.stop();
    const text = stderr.text();
    expect(text).toContain('25% | read line 50 of 200 | 42 events delivered');
    expect(text).toContain('1 dead letters');
    expect(text).toContain('"event":"dead_letter","key":"k:7"');
    expect(text).not.toContain('"event":"delivered"');
  });

  it('with no total (stdin, Redis): the events delivered and the rate', async () => {
    const stderr = terminal(true);
    const metrics = new RelayMetrics();
    metrics.events = 7;
    const bar = (await startRelayBar(stderr, metrics, { line: () => 0, total: () => undefined }))!;
    await new Promise((resolve) => setTimeout(resolve, 450));
    bar.stop();
    expect(stderr.text()).toContain('payrun relay | 7 events delivered | 0/s');
  });
});
