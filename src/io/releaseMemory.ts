import { MessageChannel } from 'node:worker_threads';

/**
 * Gives the memory of buffers nothing uses any more back now: moved (transferred) into a message
 * on a channel that is then closed, they are freed with the dropped message on the next turn of
 * the event loop. Let go of in place, they would wait for a garbage collection, which a thread
 * that allocates little (the main thread handing a table over, a worker whose tables grow) may
 * not have for a long time: a table grown from nothing on a 3.75M-row pipe left ~50 MB of
 * outgrown segments waiting for one.
 */
export function releaseNow(buffers: ArrayBuffer[]): void {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, buffers);
  port1.close();
  port2.close();
}

/** Outgrown buffers are released together once they hold this much: a channel per segment would cost more than it gives back. */
const RELEASE_BATCH_BYTES = 1 << 20;
let outgrown: ArrayBuffer[] = [];
let outgrownBytes = 0;

/**
 * For a table's outgrown segments (TxBook): releaseNow, a MiB or more at a time. Left to the
 * garbage collector, the small segments of a table grown from nothing (a pipe) piled up to
 * ~65 MB in a worker on 3.75M rows; at most 1 MiB waits here.
 */
export function releaseOutgrown(buffers: ArrayBuffer[]): void {
  for (const buffer of buffers) {
    outgrown.push(buffer);
    outgrownBytes += buffer.byteLength;
  }
  if (outgrownBytes < RELEASE_BATCH_BYTES) return;
  releaseNow(outgrown);
  outgrown = [];
  outgrownBytes = 0;
}
