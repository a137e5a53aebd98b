import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.js';

type Waiter = { resolve: (reply: FromWorker) => void; reject: (error: Error) => void };

/**
 * One worker thread and the replies it owes, in order. Each message gets exactly one reply and
 * a worker handles its messages in order, so a FIFO of waiters matches replies to requests.
 */
export class EngineThread {
  private readonly worker: Worker;
  private readonly waiting: Waiter[] = [];
  private failure: Error | undefined;

  constructor(setup: WorkerSetup) {
    this.worker = startWorker(setup);
    this.worker.on('message', (reply: FromWorker) => {
      const waiter = this.waiting.shift();
      if (reply.kind === 'failed') this.fail(new Error(`engine worker failed: ${reply.message}`), waiter);
      else waiter?.resolve(reply);
    });
    this.worker.on('error', (error) => this.fail(new Error(`engine worker failed: ${error.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`engine worker exited with code ${code}`)));
  }

  /** Sends a message; the buffers in `transfer` move to the worker (and are unusable here after). */
  request(message: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error('engine worker stopped');
    await this.worker.terminate();
  }

  private fail(error: Error, first?: Waiter): void {
    this.failure ??= error;
    first?.reject(this.failure);
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
  }
}

/**
 * The worker's whole code as one script, defined (esbuild `define`) only in the single-binary
 * bundle (scripts/build-binary.ts). Never declared at run time otherwise, so read it only
 * through `typeof`.
 */
declare const PAYRUN_BUNDLED_WORKER: string | undefined;

/**
 * A worker's garbage is a few small objects per message (its rows and tables live in typed
 * arrays), so a young generation of 1 MB does; V8 would grow it to 8 MB (measured: 2 MB less
 * peak RSS on 3.75M rows, the same CPU).
 */
const resourceLimits = { maxYoungGenerationSizeMb: 1 };

/**
 * In the single binary (or its bundle) there is no worker file to load and `import.meta.url` is
 * empty: the worker's code was bundled into the binary, so evaluate it. Otherwise the compiled
 * worker sits beside this file in dist/. Under the test runner this module is the TypeScript
 * source, and the worker is loaded through tsx (Node 20 cannot run .ts itself).
 */
function startWorker(workerData: WorkerSetup): Worker {
  if (typeof PAYRUN_BUNDLED_WORKER === 'string') return new Worker(PAYRUN_BUNDLED_WORKER, { eval: true, workerData, resourceLimits });
  const compiled = new URL('./engineWorker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled, { workerData, resourceLimits });
  const source = new URL('./engineWorker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
