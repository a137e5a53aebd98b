import { describe, expect, it } from 'vitest';
import { AccountFlag } from '../src/domain/ledger.js';
import { CLIENT_COUNT } from '../src/domain/ledgerState.js';
import { accountClients } from '../src/io/accountsCsv.js';

/** The plain walk accountClients replaces: every flag, one at a time. */
function byteByByte(flags: Uint8Array): number[] {
  const clients: number[] = [];
  for (let client = 0; client < flags.length; client++) if ((flags[client]! & AccountFlag.Exists) !== 0) clients.push(client);
  return clients;
}

describe('accountClients', () => {
  it('finds every account, ascending, at word edges and at both ends', () => {
    const flags = new Uint8Array(CLIENT_COUNT);
    for (const client of [0, 3, 4, 7, 8, 1001, 65_532, 65_535]) flags[client] = AccountFlag.Exists;
    flags[9] = AccountFlag.Exists | AccountFlag.Locked;
    expect(accountClients(flags)).toEqual([0, 3, 4, 7, 8, 9, 1001, 65_532, 65_535]);
  });

  it('agrees with a byte-by-byte walk on random ledgers, also on an unaligned view', () => {
    let seed = 7;
    const random = (): number => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
    for (const density of [0, 0.0001, 0.01, 0.5, 1]) {
      const flags = new Uint8Array(CLIENT_COUNT);
      for (let client = 0; client < CLIENT_COUNT; client++) if (random() < density) flags[client] = AccountFlag.Exists;
      expect(accountClients(flags)).toEqual(byteByByte(flags));
      const unaligned = new Uint8Array(CLIENT_COUNT + 1).subarray(1);
      unaligned.set(flags);
      expect(accountClients(unaligned)).toEqual(byteByByte(flags));
    }
  });
});
