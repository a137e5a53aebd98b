import { Ledger } from '../domain/ledger.js';
import { RejectReason } from '../domain/rejectReason.js';
import { TxOwnership } from '../domain/txOwnership.js';
import { ownsTxId } from '../domain/txType.js';
import type { AccountBalances } from '../io/accountsCsv.js';
import type { RowBatch } from '../io/rowBatch.js';
import type { Engine } from './engine.js';

/** `--workers 0`: tx-id ownership and one ledger for every client, in the calling thread. */
export class SerialEngine implements Engine {
  private readonly ownership = new TxOwnership();
  private readonly ledger = new Ledger();

  submit(batch: RowBatch): void {
    const { ownership, ledger } = this;
    const { reason, type, client, tx, amount } = batch;
    for (let i = 0; i < batch.count; i++) {
      if (reason[i] !== RejectReason.None) continue;
      const t = type[i]!;
      const id = tx[i]!;
      const duplicate = ownsTxId(t) && !ownership.claim(id);
      reason[i] = ledger.apply(t, client[i]!, id, amount[i]!, duplicate);
    }
  }

  finish(): Promise<AccountBalances> {
    return Promise.resolve(this.ledger);
  }

  abort(): Promise<void> {
    return Promise.resolve();
  }
}
