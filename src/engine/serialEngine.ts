import { Ledger } from '../domain/ledger.js';
import { RejectReason } from '../domain/rejectReason.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import type { RowBatch } from '../io/rowBatch.js';
import type { Engine } from './engine.js';

/** `--workers 0`: one ledger for every client (its TxBook also decides tx-id ownership), in the calling thread. */
export class SerialEngine implements Engine {
  private readonly ledger: Ledger;

  constructor(expectedTxs = 0) {
    this.ledger = new Ledger(expectedTxs);
  }

  submit(batch: RowBatch): void {
    const ledger = this.ledger;
    const { reason, type, client, tx, amount } = batch;
    for (let i = 0; i < batch.count; i++) {
      if (reason[i] !== RejectReason.None) continue;
      reason[i] = ledger.apply(type[i]!, client[i]!, tx[i]!, amount[i]!, false);
    }
  }

  finish(): Promise<AccountBalances> {
    return Promise.resolve(this.ledger);
  }

  abort(): Promise<void> {
    return Promise.resolve();
  }
}
