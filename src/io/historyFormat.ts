import { formatAmount } from '../domain/money.js';
import { REASON_CODES, RejectReason } from '../domain/rejectReason.js';
import { ownsTxId } from '../domain/txType.js';
import type { OutputFormat } from './outputFormat.js';
import { TYPE_NAMES } from './rowEvent.js';

/** One row of a client's history (`journal history`): where it was, what it was, its outcome, the balances after it. */
export interface HistoryRow {
  input: number;
  name: string;
  line: number;
  type: number;
  client: number;
  tx: number;
  amount: number;
  reason: RejectReason;
  available: number;
  held: number;
  locked: boolean;
}

export const HISTORY_CSV_HEADER = 'input,name,line,type,client,tx,amount,result,reason,available,held,total,locked\n';

/**
 * The history as text, a row at a time: CSV (a dispute's, resolve's or chargeback's amount and an
 * applied row's reason empty), or the stream's event keys as JSON (those two left out), amounts
 * always exact decimal strings. `json` is one array, one element a line; `ndjson` one object a line.
 */
export class HistoryFormatter {
  private rows = 0;

  constructor(readonly format: OutputFormat) {}

  /** The text before the first row. */
  start(): string {
    return this.format === 'csv' ? HISTORY_CSV_HEADER : this.format === 'json' ? '[' : '';
  }

  row(row: HistoryRow): string {
    const first = this.rows++ === 0;
    if (this.format === 'csv') return csvRow(row);
    const object = jsonRow(row);
    return this.format === 'ndjson' ? `${object}\n` : `${first ? '\n' : ',\n'}${object}`;
  }

  /** The text after the last row. */
  end(): string {
    return this.format === 'json' ? (this.rows === 0 ? ']\n' : '\n]\n') : '';
  }
}

function csvRow(row: HistoryRow): string {
  const amount = ownsTxId(row.type) ? formatAmount(row.amount) : '';
  const result = row.reason === RejectReason.None ? 'applied,' : `rejected,${REASON_CODES[row.reason]}`;
  return `${row.input},${csvField(row.name)},${row.line},${TYPE_NAMES[row.type]},${row.client},${row.tx},${amount},${result},${balances(row).join(',')}\n`;
}

function jsonRow(row: HistoryRow): string {
  let out = `{"input":${row.input},"name":${JSON.stringify(row.name)},"line":${row.line}`;
  out += row.reason === RejectReason.None ? ',"result":"applied"' : `,"result":"rejected","reason":"${REASON_CODES[row.reason]}"`;
  out += `,"type":"${TYPE_NAMES[row.type]}","client":${row.client},"tx":${row.tx}`;
  if (ownsTxId(row.type)) out += `,"amount":"${formatAmount(row.amount)}"`;
  const [available, held, total, locked] = balances(row);
  return `${out},"available":"${available}","held":"${held}","total":"${total}","locked":${locked}}`;
}

function balances(row: HistoryRow): [string, string, string, string] {
  return [formatAmount(row.available), formatAmount(row.held), formatAmount(row.available + row.held), row.locked ? 'true' : 'false'];
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
