import { AccountFlag } from '../domain/ledger.js';
import { formatAmount } from '../domain/money.js';
import { type AccountBalances, accountClients, formatAccounts } from './accountsCsv.js';
import { joinJson, type OutputFormat } from './outputFormat.js';

/**
 * The accounts as JSON objects, ascending by client, with the CSV's columns: client a number,
 * amounts exact decimal strings (a JSON number would be read as a binary float), locked a boolean.
 */
export function accountObjects(accounts: AccountBalances): string[] {
  const objects: string[] = [];
  const { available, held, flags } = accounts;
  for (const client of accountClients(flags)) {
    const flag = flags[client]!;
    const a = available[client]!;
    const h = held[client]!;
    const locked = (flag & AccountFlag.Locked) !== 0;
    objects.push(`{"client":${client},"available":"${formatAmount(a)}","held":"${formatAmount(h)}","total":"${formatAmount(a + h)}","locked":${locked}}`);
  }
  return objects;
}

/** `--format`: the accounts as CSV (SPEC section 5, unchanged), one JSON array, or NDJSON. */
export function formatAccountsAs(accounts: AccountBalances, format: OutputFormat): string {
  return format === 'csv' ? formatAccounts(accounts) : joinJson(accountObjects(accounts), format);
}
