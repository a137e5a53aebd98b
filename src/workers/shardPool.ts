import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromShard, ShardSetup, ToShard } from './protocol.js';

type Waiter = { resolve: (reply: FromShard) => void; reject: (error: Error) => void };

/**
 * One worker thread and the replies it owes, in order. Each message gets exactly one reply and
 * a worker handles its messages in order, so a FIFO of waiters matches replies to requests.
 */
export class Shard {
  private readonly worker: Worker;
  private readonly waiting: Waiter[] = [];
  private failure: Error | undefined;

  constructor(expectedTxs: number) {
    this.worker = startWorker({ expectedTxs } satisfies ShardSetup);
    this.worker.on('message', (reply: FromShard) => {
      const waiter = this.waiting.shift();
      if (reply.kind === 'failed') this.fail(new Error(`shard worker failed: ${reply.message}`), waiter);
      else waiter?.resolve(reply);
    });
    this.worker.on('error', (error) => this.fail(new Error(`shard worker failed: ${error.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`shard worker exited with code ${code}`)));
  }

  request(message: ToShard, transfer: ArrayBuffer[] = []): Promise<FromShard> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error('shard worker stopped');
    await this.worker.terminate();
  }

  private fail(error: Error, first?: Waiter): void {
    this.failure ??= error;
    first?.reject(this.failure);
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
  }
}

/**
 * The compiled worker sits beside this file in dist/. Under the test runner this module is the
 * TypeScript source, and the worker is loaded through tsx (Node 20 cannot run .ts itself).
 */
function startWorker(workerData: ShardSetup): Worker {
  const compiled = new URL('./shardWorker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled, { workerData });
  const source = new URL('./shardWorker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
