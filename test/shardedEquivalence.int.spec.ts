import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceRun } from '../src/engine/referenceModel.js';
import { generateLines } from '../src/generate/generator.js';
import { runCsv } from './support/runCsv.js';

/**
 * The property that matters most: for any input, valid or not, the engine with any worker count
 * (0 = main thread) prints exactly what the independent reference model computes.
 */

const plainAmount = fc
  .tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 4 }))
  .map(([whole, frac, digits]) => (digits === 0 ? `${whole}` : `${whole}.${String(frac).padStart(4, '0').slice(0, digits)}`));

const type = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('deposit', 'deposit', 'withdrawal', 'dispute', 'resolve', 'chargeback') },
  { weight: 2, arbitrary: fc.constantFrom('DEPOSIT', 'Withdrawal', ' dispute ', '"resolve"', '\tchargeback') },
  { weight: 1, arbitrary: fc.constantFrom('transfer', '', 'de"posit', '"dep""osit"', 'deposits') },
);
const client = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 4 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('65535', '65536', '-1', 'x', '', '007', ' 2 ', '"3"', '1.0') },
);
const tx = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 15 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('4294967295', '4294967296', '1.5', '', '"4"', '+3', '00012') },
);
const amount = fc.oneof(
  { weight: 12, arbitrary: plainAmount },
  {
    weight: 2,
    arbitrary: fc.constantFrom('900719925474.0991', '900000000000', '0', '0.0000', '1.23456', '.5', '1.', 'abc', '-1', '1e3', ' 2.5 ', '"3.0"', '"1,5"', ''),
  },
);
const row = fc.oneof(
  { weight: 10, arbitrary: fc.tuple(type, client, tx, amount).map((fields) => fields.join(',')) },
  { weight: 3, arbitrary: fc.tuple(type, client, tx).map((fields) => fields.join(',')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '  \t', 'deposit,1', 'deposit,1,2,3,4', '"deposit,1,2,3', 'deposit,"1"x,2,3', 'dispute,1', ',,,', 'd\u00e9p\u00f4t,1,2,3'),
  },
);
const file = fc
  .record({ rows: fc.array(row, { maxLength: 80 }), crlf: fc.boolean(), bom: fc.boolean(), finalNewline: fc.boolean() })
  .map(({ rows, crlf, bom, finalNewline }) => {
    const eol = crlf ? '\r\n' : '\n';
    return `${bom ? '\uFEFF' : ''}type,client,tx,amount${eol}${rows.join(eol)}${finalNewline ? eol : ''}`;
  });

describe('sharded engine equals the reference model', () => {
  const equalsReference = (workers: fc.Arbitrary<number>) =>
    fc.asyncProperty(file, workers, fc.integer({ min: 1, max: 64 }), async (text, n, chunkSize) => {
      const expected = referenceRun(text);
      const actual = await runCsv(text, { workers: n, chunkSize });
      expect(actual.accounts).toBe(expected.accountsCsv);
      expect(actual.rejects).toBe(expected.rejectsCsv);
    });

  it('on random inputs in the main thread, with any chunking', async () => {
    await fc.assert(equalsReference(fc.constant(0)), { numRuns: 400 });
  });

  // Each run starts real worker threads (through tsx here), so fewer runs.
  it('on random inputs with 1, 2 and 4 worker threads', async () => {
    await fc.assert(equalsReference(fc.constantFrom(1, 2, 4)), { numRuns: 30 });
  }, 180_000); // 30 runs of thread start-ups: ~20 s on a quiet box, past 60 s on a loaded one

  it('on a generated 20,000-row file, for workers 0, 1, 2 and 4', async () => {
    const text = `${[...generateLines({ rows: 20_000, clients: 50, seed: 11 })].join('\n')}\n`;
    const expected = referenceRun(text);
    for (const workers of [0, 1, 2, 4]) {
      const actual = await runCsv(text, { workers, chunkSize: 4096 });
      expect(actual.accounts).toBe(expected.accountsCsv);
      expect(actual.rejects).toBe(expected.rejectsCsv);
    }
  });
});
