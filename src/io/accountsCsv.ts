import { AccountFlag } from '../domain/ledger.js';
import { CLIENT_COUNT } from '../domain/ledgerState.js';
import { formatAmount } from '../domain/money.js';

/** What the accounts output needs of a ledger (or of several merged). */
export interface AccountBalances {
  readonly available: Float64Array;
  readonly held: Float64Array;
  readonly flags: Uint8Array;
}

const ACCOUNTS_HEADER = 'client,available,held,total,locked\n';

/**
 * The clients that have an account, ascending. Skips four empty clients at a time: this runs once,
 * in V8's interpreter, and a byte-by-byte walk of all 65,536 flags cost ~3 ms of a one-row run.
 */
export function accountClients(flags: Uint8Array): number[] {
  const clients: number[] = [];
  const aligned = flags.byteOffset % 4 === 0 && flags.length === CLIENT_COUNT;
  const words = aligned ? new Uint32Array(flags.buffer, flags.byteOffset, CLIENT_COUNT / 4) : undefined;
  for (let client = 0; client < CLIENT_COUNT; client++) {
    if (words !== undefined && (client & 3) === 0 && words[client >>> 2] === 0) {
      client += 3;
      continue;
    }
    if ((flags[client]! & AccountFlag.Exists) !== 0) clients.push(client);
  }
  return clients;
}

/** SPEC section 5: one line per existing account, ascending by client. */
export function formatAccounts(accounts: AccountBalances): string {
  const lines: string[] = [ACCOUNTS_HEADER];
  const { available, held, flags } = accounts;
  for (const client of accountClients(flags)) {
    const flag = flags[client]!;
    const a = available[client]!;
    const h = held[client]!;
    const locked = (flag & AccountFlag.Locked) !== 0 ? 'true' : 'false';
    lines.push(`${client},${formatAmount(a)},${formatAmount(h)},${formatAmount(a + h)},${locked}\n`);
  }
  return lines.join('');
}

export function countAccounts(accounts: AccountBalances): number {
  return accountClients(accounts.flags).length;
}
