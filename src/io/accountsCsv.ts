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

/** SPEC section 5: one line per existing account, ascending by client. */
export function formatAccounts(accounts: AccountBalances): string {
  const lines: string[] = [ACCOUNTS_HEADER];
  const { available, held, flags } = accounts;
  for (let client = 0; client < CLIENT_COUNT; client++) {
    const flag = flags[client]!;
    if ((flag & AccountFlag.Exists) === 0) continue;
    const a = available[client]!;
    const h = held[client]!;
    const locked = (flag & AccountFlag.Locked) !== 0 ? 'true' : 'false';
    lines.push(`${client},${formatAmount(a)},${formatAmount(h)},${formatAmount(a + h)},${locked}\n`);
  }
  return lines.join('');
}

export function countAccounts(accounts: AccountBalances): number {
  let n = 0;
  for (let client = 0; client < CLIENT_COUNT; client++) if ((accounts.flags[client]! & AccountFlag.Exists) !== 0) n++;
  return n;
}
