import { parentPort, workerData } from 'node:worker_threads';
import { Ledger } from '../domain/ledger.js';
import { DUPLICATE_FLAG, type FromShard, type ShardSetup, shardRowsView, type ToShard } from './protocol.js';

/** One job: apply, in order, the rows of the clients of one shard to its own Ledger. */
const port = parentPort;
if (port === null) throw new Error('shardWorker must run in a worker thread');
const ledger = new Ledger((workerData as ShardSetup).expectedTxs);

port.on('message', (message: ToShard) => {
  try {
    if (message.kind === 'apply') {
      const { amount, tx, client, kind } = shardRowsView(message.rows, message.count);
      const reasons = new Uint8Array(message.count);
      for (let i = 0; i < message.count; i++) {
        const k = kind[i]!;
        reasons[i] = ledger.apply(k & ~DUPLICATE_FLAG, client[i]!, tx[i]!, amount[i]!, (k & DUPLICATE_FLAG) !== 0);
      }
      const reply: FromShard = { kind: 'applied', seq: message.seq, reasons };
      port.postMessage(reply, [reasons.buffer]);
    } else {
      const { available, held, flags } = ledger;
      const reply: FromShard = { kind: 'accounts', available, held, flags };
      port.postMessage(reply, [available.buffer, held.buffer, flags.buffer]);
    }
  } catch (error) {
    const reply: FromShard = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
});
