import { describe, expect, it } from 'vitest';
import { REASON_CODES, RejectReason } from '../src/domain/rejectReason.js';
import { InputError } from '../src/io/inputError.js';
import { HeaderReader, parseLines } from '../src/io/lineParser.js';
import { RowBatch, rowCapacityFor } from '../src/io/rowBatch.js';
import { csv, runCsv } from './support/runCsv.js';

/**
 * Reads chunks of whole lines the way run() does (header first, then parseLines on the rest);
 * returns each data row as `line reason text` and the count of physical lines.
 */
function readRows(...chunks: string[]): { rows: string[]; lines: number } {
  const header = new HeaderReader();
  const rows: string[] = [];
  let lines = 0;
  for (const text of chunks) {
    const chunk = Buffer.from(text);
    let from = 0;
    if (!header.done) {
      const before = header.lines;
      from = header.scan(chunk);
      lines += header.lines - before;
    }
    const batch = new RowBatch(rowCapacityFor(chunk.length));
    parseLines(chunk, from, chunk.length, batch);
    for (let i = 0; i < batch.count; i++) {
      const reason = batch.reason[i] === RejectReason.None ? 'OK' : REASON_CODES[batch.reason[i]!]!;
      rows.push(`${lines + batch.line[i]!} ${reason} ${chunk.toString('utf8', batch.start[i], batch.end[i])}`);
    }
    lines += batch.lines;
  }
  return { rows, lines };
}

function headerError(text: string): InputError {
  try {
    readRows(text);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('reading lines: BOM, line ends, blank lines', () => {
  it('drops a BOM before the header', () => {
    expect(readRows('\uFEFFtype,client,tx,amount\ndeposit,1,1,1\n').rows).toEqual(['2 OK deposit,1,1,1']);
  });

  it('strips the CR of CRLF, and reads a last line without terminator', () => {
    const { rows, lines } = readRows('type,client,tx,amount\r\ndeposit,1,1,1.5\r\ndispute,1,1\r\nresolve,1,1');
    expect(rows).toEqual(['2 OK deposit,1,1,1.5', '3 OK dispute,1,1', '4 OK resolve,1,1']);
    expect(lines).toBe(4);
  });

  it('keeps a CR inside a line: it is not a line end', () => {
    expect(readRows('type,client,tx,amount\ndeposit,1,1,1\r2\n').rows).toEqual(['2 BAD_AMOUNT deposit,1,1,1\r2']);
  });

  it('skips blank lines (empty, spaces, tabs, CRLF) but counts them', () => {
    const text = '\n \t\r\ntype,client,tx,amount\n\t\n  \n\r\ndeposit,1,1,1\n \n';
    expect(readRows(text)).toEqual({ rows: ['7 OK deposit,1,1,1'], lines: 8 });
  });

  it('keeps counting lines across chunks, and drops a BOM only at the very start', () => {
    const { rows } = readRows('\uFEFF\n', 'type,client,tx,amount\n', '\n', 'deposit,1,1,1\n\uFEFFdeposit,1,2,1\n');
    expect(rows).toEqual(['4 OK deposit,1,1,1', '5 UNKNOWN_TYPE \uFEFFdeposit,1,2,1']);
  });

  it('marks each row with its shape reason', () => {
    const { rows } = readRows('type,client,tx,amount\ndeposit,1\ntransfer,1,2,3\ndeposit,x,1,1\ndeposit,1,x,1\r\ndeposit,1,2,0\n');
    expect(rows).toEqual([
      '2 MALFORMED_ROW deposit,1',
      '3 UNKNOWN_TYPE transfer,1,2,3',
      '4 BAD_CLIENT deposit,x,1,1',
      '5 BAD_TX deposit,1,x,1',
      '6 BAD_AMOUNT deposit,1,2,0',
    ]);
  });

  it.each(['', '\n', ' \t\r\n\n', '\uFEFF', 'type,client,tx,amount', 'type,client,tx,amount\n\n'])(
    'given %j (no data rows), then nothing is read and nothing is fatal',
    (text) => {
      expect(readRows(text).rows).toEqual([]);
    },
  );

  it.each(['', '\uFEFF', ' \n\t\n', 'type,client,tx,amount\n'])('given %j, then payrun prints only the output header', async (text) => {
    const result = await runCsv(text);
    expect(result.accounts).toBe('client,available,held,total,locked\n');
    expect(result.rejects).toBe('line,reason,row\n');
  });
});

describe('the header', () => {
  it.each([
    'type,client,tx,amount',
    '"type","client","tx","amount"',
    ' type , client\t,\ttx , amount ',
    'TYPE,CLIENT,TX,AMOUNT',
    ' Type ,CLIENT\t, tx,Amount',
    '" type ", "Client" ,tx,amount',
  ])('accepts %j', (header) => {
    expect(readRows(`${header}\r\ndispute,1,1\r\n`).rows).toEqual(['2 OK dispute,1,1']);
  });

  it.each([
    ['type,client,tx', 1],
    ['type,client,tx,amount,note', 1],
    ['type,client,tx,amount,', 1],
    ['client,type,tx,amount', 1],
    ['type,client,amount,tx', 1],
    ['type,client,tx,amounts', 1],
    ['deposit,1,1,1.0', 1],
    ['"type,client,tx,amount"', 1],
    ['"type",client,tx,"amount', 1],
    ['\n \ntype;client;tx;amount', 3],
    ['\uFEFF\r\n\t\r\ntx,type,client,amount', 3],
  ])('rejects %j as fatal, naming line %i', (text, line) => {
    const error = headerError(`${text}\ndeposit,1,1,1\n`);
    expect(error.line).toBe(line);
    expect(error.message).toContain("expected 'type,client,tx,amount'");
  });

  it('makes the whole run fail with the header line, after 2 blank lines', async () => {
    await expect(runCsv(`\n \n${csv('deposit,1,1,1').replace('amount', 'amt')}`)).rejects.toMatchObject({
      name: 'InputError',
      line: 3,
    });
  });
});
