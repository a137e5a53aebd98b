import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REASON_CODES } from '../src/domain/rejectReason.js';
import { ReferenceHeaderError, ReferenceModel, referenceRun, splitFields } from '../src/engine/referenceModel.js';
import type { ReferenceReason } from '../src/engine/referenceModel.js';

const ACCEPTANCE = fileURLToPath(new URL('../../shared/acceptance/', import.meta.url));
const cases = existsSync(ACCEPTANCE)
  ? readdirSync(ACCEPTANCE, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(`${ACCEPTANCE}${entry.name}/input.csv`))
      .map((entry) => entry.name)
  : [];

const ACCOUNTS_HEADER = 'client,available,held,total,locked\n';
const REJECTS_HEADER = 'line,reason,row\n';
const run = (...lines: string[]) => referenceRun(`${lines.join('\n')}\n`);

describe.skipIf(cases.length === 0)(`reference model on the acceptance cases${cases.length === 0 ? ' (skipped: ../shared/acceptance not found beside this repository)' : ''}`, () => {
  it.each(cases)('%s', (name) => {
    const dir = `${ACCEPTANCE}${name}/`;
    const result = referenceRun(readFileSync(`${dir}input.csv`, 'utf8'));
    expect(result.accountsCsv).toBe(readFileSync(`${dir}expected.csv`, 'utf8'));
    expect(result.rejectsCsv).toBe(readFileSync(`${dir}expected-rejects.csv`, 'utf8'));
  });
});

describe('reference model', () => {
  it('names exactly the reason codes of rejectReason.ts', () => {
    const all: Record<ReferenceReason, true> = {
      MALFORMED_ROW: true, UNKNOWN_TYPE: true, BAD_CLIENT: true, BAD_TX: true, BAD_AMOUNT: true,
      DUPLICATE_TX: true, OVERFLOW: true, ACCOUNT_LOCKED: true, INSUFFICIENT_FUNDS: true, UNKNOWN_TX: true,
      NOT_DISPUTABLE: true, CHARGED_BACK: true, ALREADY_DISPUTED: true, NOT_DISPUTED: true,
    };
    expect(Object.keys(all)).toEqual(REASON_CODES.slice(1));
  });

  it('gives only the headers for an empty file, blank lines, or a lone header', () => {
    for (const input of ['', '\n', ' \t\r\n\n', '\uFEFF', 'type,client,tx,amount', '\uFEFFtype,client,tx,amount\r\n\r\n']) {
      expect(referenceRun(input)).toEqual({ accountsCsv: ACCOUNTS_HEADER, rejectsCsv: REJECTS_HEADER, applied: 0, rejected: 0 });
    }
  });

  it('throws on a bad header, naming its physical line', () => {
    for (const [input, line] of [
      ['type,client,tx', 1],
      ['\n  \n type,client,amount,tx\n', 3],
      ['deposit,1,1,1.0\n', 1],
      ['type,client,tx,amount,extra', 1],
      ['"type,client,tx,amount', 1],
      ['type;client;tx;amount', 1],
    ] as const) {
      let thrown: unknown;
      try {
        referenceRun(input);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ReferenceHeaderError);
      expect((thrown as ReferenceHeaderError).message).toBe("bad header, expected 'type,client,tx,amount'");
      expect((thrown as ReferenceHeaderError).line).toBe(line);
    }
  });

  it('accepts a quoted, padded, mixed-case header after a BOM and blank lines', () => {
    expect(run('\uFEFF', '\t', ' "Type" ,\t" CLIENT",TX, amount ', 'deposit,1,1,1').accountsCsv).toBe(
      `${ACCOUNTS_HEADER}1,1.0000,0.0000,1.0000,false\n`,
    );
  });

  it('splits fields with the SPEC quoting rules', () => {
    expect(splitFields('a, b ,\t"c ""q"" " ,"",')).toEqual(['a', 'b', 'c "q"', '', '']);
    expect(splitFields('"1,5"')).toEqual(['1,5']);
    expect(splitFields('de"posit,1')).toBeNull();
    expect(splitFields('"deposit" x,1')).toBeNull();
    expect(splitFields('"deposit,1')).toBeNull();
    expect(splitFields('')).toEqual(['']);
  });

  it('checks a dispute against the limit on held and available', () => {
    const result = run(
      'type,client,tx,amount',
      'deposit,1,1,900719925474.0991',
      'withdrawal,1,2,900719925474.0991',
      'dispute,1,1',
      'deposit,1,3,900719925474.0991',
      'dispute,1,3',
      'resolve,1,1',
    );
    expect(result.rejectsCsv).toBe(`${REJECTS_HEADER}6,OVERFLOW,"dispute,1,3"\n`);
    expect(result.accountsCsv).toBe(`${ACCOUNTS_HEADER}1,900719925474.0991,0.0000,900719925474.0991,false\n`);
    expect([result.applied, result.rejected]).toEqual([5, 1]);
  });

  it('prints negative balances with a sign and zero without one', () => {
    const result = run('type,client,tx,amount', 'deposit,7,1,0.5', 'withdrawal,7,2,.5', 'deposit,7,3,2', 'withdrawal,7,4,1.9999', 'dispute,7,3');
    expect(result.accountsCsv).toBe(`${ACCOUNTS_HEADER}7,-1.9999,2.0000,0.0001,false\n`);
  });

  it('quotes a rejected row only when CSV needs it', () => {
    const result = run('type,client,tx,amount', 'refund', 'x\ty', 'say "hi"', 'deposit,1,1,1\r\r');
    expect(result.rejectsCsv).toBe(
      `${REJECTS_HEADER}2,MALFORMED_ROW,refund\n3,MALFORMED_ROW,x\ty\n4,MALFORMED_ROW,"say ""hi"""\n5,BAD_AMOUNT,"deposit,1,1,1\r"\n`,
    );
  });

  it('folds only ASCII letters in the type', () => {
    expect(run('type,client,tx,amount', 'deposİt,1,1,1').rejectsCsv).toBe(`${REJECTS_HEADER}2,UNKNOWN_TYPE,"deposİt,1,1,1"\n`);
  });

  it('streams line by line to the same result', () => {
    const input = readAcceptance('generated-seed-101') ?? '\uFEFFtype,client,tx,amount\r\ndeposit,1,1,1\r\n\r\ndispute,1,1\r\n';
    const model = new ReferenceModel();
    for (const line of input.split('\n')) model.pushLine(line.replace(/\r$/, ''));
    expect(model.result()).toEqual(referenceRun(input));
  });
});

function readAcceptance(name: string): string | undefined {
  const file = `${ACCEPTANCE}${name}/input.csv`;
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}
