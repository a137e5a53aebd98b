/**
 * Transactions handed between threads a piece at a time, through shared buffers for one piece
 * and a control word per taker passed back and forth with Atomics, so neither side holds a copy
 * of them all (16 bytes per stored transaction), only one piece (1 MiB):
 * - a snapshot: a worker offers its transactions (offerPiece) while the main thread, whose
 *   snapshot writer is synchronous, takes them (takePieces); the worker is idle between batches.
 * - a restore: the main thread offers the recovered ledger's transactions to every worker at
 *   once (offerPieceToAll, asynchronously: its event loop goes on), each worker takes them
 *   (takePieces) and keeps its share, and the main thread frees them as they go.
 *
 * control[0]: 0 the taker waits for a piece, 1 a piece is ready; control[1]: the entries in it,
 * or -1 when there are no more.
 */
/** Atomics.waitAsync (Node 16+; in TypeScript's lib from ES2024, past this project's target). */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number, timeout: number): { async: boolean; value: 'not-equal' | 'timed-out' | Promise<'ok' | 'timed-out'> };
}).waitAsync.bind(Atomics);
const READY = 1;
const TAKEN = 0;
/** A worker that does not hand over a piece in this long has died or hangs: the snapshot fails rather than wait for ever. */
const PIECE_TIMEOUT_MS = 120_000;

/** Offers a piece of `count` entries (or -1: the end) and waits until the main thread has taken it. */
export function offerPiece(control: Int32Array, count: number): void {
  Atomics.store(control, 1, count);
  Atomics.store(control, 0, READY);
  Atomics.notify(control, 0);
  while (Atomics.load(control, 0) === READY) Atomics.wait(control, 0, READY, PIECE_TIMEOUT_MS);
}

/** Offers a piece of `count` entries (or -1: the end) to every taker at once; resolves when all have taken it. */
export async function offerPieceToAll(controls: Int32Array[], count: number): Promise<void> {
  for (const control of controls) {
    Atomics.store(control, 1, count);
    Atomics.store(control, 0, READY);
    Atomics.notify(control, 0);
  }
  for (const control of controls) {
    while (Atomics.load(control, 0) === READY) {
      const waiting = waitAsync(control, 0, READY, PIECE_TIMEOUT_MS);
      if ((waiting.async ? await waiting.value : waiting.value) === 'timed-out') throw new Error('an engine worker stopped taking the transactions it restores');
    }
  }
}

/** Taker side: takes the pieces as they come, each passed to `take`, until the end; throws if the worker stops offering them. */
export function takePieces(control: Int32Array, take: (count: number) => void): void {
  for (;;) {
    while (Atomics.load(control, 0) !== READY) {
      if (Atomics.wait(control, 0, TAKEN, PIECE_TIMEOUT_MS) === 'timed-out') throw new Error('a thread stopped handing over transactions');
    }
    const count = Atomics.load(control, 1);
    if (count >= 0) take(count);
    Atomics.store(control, 0, TAKEN);
    Atomics.notify(control, 0);
    if (count < 0) return;
  }
}
