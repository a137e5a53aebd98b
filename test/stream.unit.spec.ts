// payrun stream's pure parts: groups of lines → batches with their places, per-row events, and
// how a stream run's input is named.
import { describe, expect, it } from 'vitest';
import { Ledger } from '../src/domain/ledger.js';
import { RunStats } from '../src/engine/runStats.js';
import { formatAccounts } from '../src/io/accountsCsv.js';
import { InputError } from '../src/io/inputError.js';
import { decideRows } from '../src/engine/decideRows.js';
import { LineGroups } from '../src/io/lineGroups.js';
import { STOPPED, StopSignal } from '../src/cli/stopSignal.js';
import { inputKindOf, stdinStreamId } from '../src/journal/inputKind.js';
import { csv, runCsv } from './support/runCsv.js';

interface Streamed {
  events: Array<Record<string, unknown>>;
  accounts: string;
  places: Array<{ offset: number; base: number; nextOffset: number; nextLine: number }>;
  stats: RunStats;
}

/** Streams text through LineGroups + decideRows, cut into groups of whole lines at the given line counts. */
function stream(text: string, linesPerGroup: number): Streamed {
  const lines = text.split(/(?<=\n)/);
  const groups = new LineGroups();
  const ledger = new Ledger();
  const stats = new RunStats();
  const out: Streamed = { events: [], accounts: '', places: [], stats };
  for (let i = 0; i < lines.length; i += linesPerGroup) {
    const { batch, place } = groups.take(Buffer.from(lines.slice(i, i + linesPerGroup).join('')));
    out.places.push({ ...place });
    const events = decideRows(ledger, batch, place.base, stats);
    expect(events === '' || events.endsWith('\n')).toBe(true);
    for (const line of events.split('\n').filter((l) => l !== '')) out.events.push(JSON.parse(line) as Record<string, unknown>);
  }
  out.accounts = formatAccounts(ledger);
  return out;
}

const INPUT =
  '\uFEFF\r\n  \r\ntype , Client,TX,amount\r\n' +
  ['deposit,1,1,5.0', '', 'deposit,1,2,2.5', 'withdrawal,1,3,100', '"dispute","1","1"', 'bogus,1,4,1', 'deposit,2,2,1', 'withdrawal,x,9,1', 'chargeback,1,1,', 'deposit,1,5,1.00001'].join('\r\n') +
  '\r\n\r\nresolve,1,1';

describe('LineGroups + decideRows', () => {
  it('gives the batch engine\'s accounts and rejects, one event per data row, however the lines are grouped', async () => {
    const batch = await runCsv(INPUT);
    const rejects = batch.rejects.trim().split('\n').slice(1).map((row) => row.split(',').slice(0, 2).join(' '));
    for (const size of [1, 2, 3, 5, 100]) {
      const s = stream(INPUT, size);
      expect(s.accounts).toBe(batch.accounts);
      expect(s.events.map((e) => e.line)).toEqual([4, 6, 7, 8, 9, 10, 11, 12, 13, 15]);
      expect(s.events.filter((e) => e.result === 'rejected').map((e) => `${e.line} ${e.reason}`)).toEqual(rejects);
      expect(s.stats.rows).toBe(10);
      expect(s.stats.rejected).toBe(rejects.length);
      // The places continue each other, as the journal's replayer requires.
      for (let i = 1; i < s.places.length; i++) {
        expect(s.places[i]!.offset).toBe(s.places[i - 1]!.nextOffset);
        expect(s.places[i]!.base).toBeGreaterThanOrEqual(s.places[i - 1]!.nextLine);
      }
      expect(s.places.at(-1)!.nextOffset).toBe(Buffer.byteLength(INPUT));
    }
  });

  it('carries the balances after each row, not after its group', () => {
    const s = stream(csv('deposit,7,1,1', 'deposit,7,2,2', 'dispute,7,1'), 100);
    expect(s.events.map((e) => [e.available, e.held, e.total])).toEqual([
      ['1.0000', '0.0000', '1.0000'],
      ['3.0000', '0.0000', '3.0000'],
      ['2.0000', '1.0000', '3.0000'],
    ]);
  });

  it('gives a row that is not well-formed its text and no account', () => {
    const s = stream(csv('deposit,1,1,"1'), 100);
    expect(s.events).toEqual([{ line: 2, result: 'rejected', reason: 'MALFORMED_ROW', row: 'deposit,1,1,"1' }]);
    expect(s.accounts).toBe('client,available,held,total,locked\n');
  });

  it('refuses a bad header with its line, after blank groups', () => {
    const groups = new LineGroups();
    groups.take(Buffer.from('\n'));
    expect(groups.started).toBe(false);
    expect(() => groups.take(Buffer.from('type,client,amount,tx\n'))).toThrow(InputError);
    try {
      new LineGroups().take(Buffer.from('\n\nnope\n'));
    } catch (error) {
      expect((error as InputError).line).toBe(3);
    }
  });
});

// What a stream run does with a journal's unfinished input: test/journalInput.unit.spec.ts.
describe('stdinStreamId', () => {
  it('names a stream run by time and pid, an input of kind stdin', () => {
    expect(stdinStreamId(new Date(0), 42)).toBe('stream:stdin:1970-01-01T00:00:00.000Z:42');
    expect(inputKindOf(stdinStreamId())).toBe('stdin');
  });
});

describe('StopSignal', () => {
  it('passes a value through, ends a pending wait on the first signal, and every wait after it', async () => {
    const listeners = process.listenerCount('SIGINT');
    const stop = new StopSignal();
    try {
      await expect(stop.race(Promise.resolve(1))).resolves.toBe(1);
      const pending = stop.race(new Promise<number>(() => undefined));
      process.emit('SIGTERM', 'SIGTERM');
      process.emit('SIGINT', 'SIGINT');
      await expect(pending).resolves.toBe(STOPPED);
      expect(stop.signal).toBe('SIGTERM');
      await expect(stop.race(Promise.resolve(2))).resolves.toBe(STOPPED);
    } finally {
      stop.remove();
    }
    expect(process.listenerCount('SIGINT')).toBe(listeners);
  });
});
