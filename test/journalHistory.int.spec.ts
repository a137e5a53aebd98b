// payrun journal history DIR --client N through the built binary: one client's journaled rows in
// order with the balances after each, the same as the events `payrun stream` printed for them.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, useBuiltBinary } from './support/builtBinary.js';

const SAMPLE = join(import.meta.dirname, '..', 'fixtures', 'sample.csv');

describe('journal history', () => {
  const tmp = useBuiltBinary('payrun-history-');
  const payrun = (args: string[], input = '') =>
    spawnSync(BIN, args, { cwd: tmp(), encoding: 'utf8', input, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  const ok = (args: string[], input = '') => {
    const r = payrun(args, input);
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };

  beforeAll(() => {
    // Two days, the second's ids after the first's, through a file journal and through a stream journal.
    ok(['generate', '-q', '-n', '20000', '-c', '20', '--seed', '3', '--first-tx', '1', 'day1.csv']);
    ok(['generate', '-q', '-n', '20000', '-c', '20', '--seed', '3', '--first-tx', '15000', 'day2.csv']);
    ok(['-q', '--journal', 'ledger', 'day1.csv']);
    ok(['-q', '--journal', 'ledger', 'day2.csv']);
  });

  it('the sample: client 2 in csv, every column', () => {
    ok(['-q', '--journal', 'sample', SAMPLE]);
    const r = ok(['journal', 'history', 'sample', '--client', '2']);
    expect(r.stdout).toBe(
      [
        'input,name,line,type,client,tx,amount,result,reason,available,held,total,locked',
        `1,${SAMPLE},3,deposit,2,2,250.5000,applied,,250.5000,0.0000,250.5000,false`,
        `1,${SAMPLE},7,dispute,2,2,,applied,,0.0000,250.5000,250.5000,false`,
        `1,${SAMPLE},8,withdrawal,2,6,10.0000,rejected,INSUFFICIENT_FUNDS,0.0000,250.5000,250.5000,false`,
        `1,${SAMPLE},9,resolve,2,2,,applied,,250.5000,0.0000,250.5000,false`,
        `1,${SAMPLE},10,withdrawal,2,7,50.5000,applied,,200.0000,0.0000,200.0000,false`,
        '',
      ].join('\n'),
    );
    const locked = JSON.parse(ok(['journal', 'history', 'sample', '--client', '3', '--format', 'json']).stdout) as Record<string, unknown>[];
    expect(locked.map((row) => [row.type, row.result, row.locked])).toEqual([
      ['deposit', 'applied', false],
      ['dispute', 'applied', false],
      ['chargeback', 'applied', true],
    ]);
    expect(locked[0]).toEqual({ input: 1, name: SAMPLE, line: 6, result: 'applied', type: 'deposit', client: 3, tx: 5, amount: '75.0000', available: '75.0000', held: '0.0000', total: '75.0000', locked: false });
  });

  it('over two inputs: the events payrun stream printed for that client, in order, balances included', () => {
    const day1 = ok(['stream', '-q', '--journal', 'streamed'], readFileSync(join(tmp(), 'day1.csv'), 'utf8')).stdout.split('\n');
    const day2 = ok(['stream', '-q', '--journal', 'streamed'], readFileSync(join(tmp(), 'day2.csv'), 'utf8')).stdout.split('\n');
    const accounts = ok(['journal', 'replay', 'ledger', '--format', 'json']).stdout;
    const clients = (JSON.parse(accounts) as { client: number }[]).map((a) => a.client);
    expect(clients.length).toBeGreaterThan(10);
    let rows = 0;
    for (const client of [clients[0]!, clients[1]!, clients.at(-1)!]) {
      const history = ok(['journal', 'history', 'ledger', '--client', String(client), '--format', 'ndjson']).stdout.split('\n').slice(0, -1);
      const mine = (events: string[]) => events.filter((event) => event.includes(`"client":${client},"tx"`));
      const expected = [...mine(day1).map((e) => ['1', e]), ...mine(day2).map((e) => ['2', e])];
      expect(history.map((row) => [/^\{"input":(\d+),/.exec(row)![1], row.replace(/^\{"input":\d+,"name":"[^"]*",/, '{')])).toEqual(expected);
      expect(history[0]).toMatch(/^\{"input":1,"name":"[^"]*day1\.csv",/);
      rows += history.length;
    }
    expect(rows).toBeGreaterThan(1000);
  });

  it('csv, json and ndjson hold the same rows; the last balances are the account', () => {
    const client = (JSON.parse(ok(['journal', 'replay', 'ledger', '--format', 'json']).stdout) as { client: number }[])[0]!.client;
    const history = (format: string) => ok(['journal', 'history', 'ledger', '--client', String(client), '--format', format]).stdout;
    const json = JSON.parse(history('json')) as Record<string, unknown>[];
    const ndjson = history('ndjson').split('\n').slice(0, -1).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(ndjson).toEqual(json);
    const csv = history('csv').split('\n').slice(1, -1);
    expect(csv).toHaveLength(json.length);
    csv.forEach((line, i) => {
      const row = json[i]!;
      const fields = line.split(',');
      expect(fields.slice(2)).toEqual([row.line, row.type, row.client, row.tx, row.amount ?? '', row.result, row.reason ?? '', row.available, row.held, row.total, row.locked].map(String));
    });
    const account = (JSON.parse(ok(['journal', 'replay', 'ledger', '--format', 'json']).stdout) as Record<string, unknown>[]).find((a) => a.client === client)!;
    const last = json.at(-1)!;
    expect([last.available, last.held, last.total, last.locked]).toEqual([account.available, account.held, account.total, account.locked]);
  });

  it('a client with no rows: the header, [] or nothing', () => {
    expect(ok(['journal', 'history', 'sample', '--client', '65535']).stdout).toBe('input,name,line,type,client,tx,amount,result,reason,available,held,total,locked\n');
    expect(ok(['journal', 'history', 'sample', '--client', '65535', '--format', 'json']).stdout).toBe('[]\n');
    expect(ok(['journal', 'history', 'sample', '--client', '65535', '--format', 'ndjson']).stdout).toBe('');
  });

  it('errors: no journal (exit 1), a damaged journal (exit 1), no or a bad --client (exit 2)', () => {
    const none = payrun(['journal', 'history', 'nowhere', '--client', '1']);
    expect(none.status).toBe(1);
    expect(none.stderr).toBe("payrun: no journal in 'nowhere'\n");
    ok(['-q', '--journal', 'broken', 'day1.csv']);
    ok(['-q', '--journal', 'broken', 'day2.csv']);
    const log = join(tmp(), 'broken', 'journal.log');
    const bytes = readFileSync(log);
    bytes[1000] = bytes[1000]! ^ 0xff; // inside day 1's batch: good records follow
    writeFileSync(log, bytes);
    const damaged = payrun(['journal', 'history', 'broken', '--client', '1']);
    expect(damaged.status).toBe(1);
    expect(damaged.stderr).toMatch(/^payrun: journal 'broken' is damaged at byte \d+ \(checksum mismatch\)\n$/);
    expect(payrun(['journal', 'history', 'ledger']).status).toBe(2);
    const bad = payrun(['journal', 'history', 'ledger', '--client', '65536']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--client must be between 0 and 65535/);
  });

  it('a closed stdout ends quietly', () => {
    const r = spawnSync('sh', ['-c', `"$0" journal history ledger --client "$1" --format ndjson | head -n 1`, BIN, '0'], { cwd: tmp(), encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});
