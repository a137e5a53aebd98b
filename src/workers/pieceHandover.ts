/**
 * A worker hands its transactions to the main thread a piece at a time while the main thread
 * writes a snapshot, synchronously on both sides (the snapshot writer is synchronous, and the
 * worker is idle between batches): shared buffers for one piece, and a control word the two
 * threads pass back and forth with Atomics. So a snapshot with workers never holds a copy of
 * the whole state (16 bytes per stored transaction), only one piece (1 MiB).
 *
 * control[0]: 0 the main thread waits for a piece, 1 a piece is ready; control[1]: the entries
 * in it, or -1 when there are no more.
 */
const READY = 1;
const TAKEN = 0;
/** A worker that does not hand over a piece in this long has died or hangs: the snapshot fails rather than wait for ever. */
const PIECE_TIMEOUT_MS = 120_000;

/** Worker side: offers a piece of `count` entries (or -1: the end) and waits until the main thread has taken it. */
export function offerPiece(control: Int32Array, count: number): void {
  Atomics.store(control, 1, count);
  Atomics.store(control, 0, READY);
  Atomics.notify(control, 0);
  while (Atomics.load(control, 0) === READY) Atomics.wait(control, 0, READY, PIECE_TIMEOUT_MS);
}

/** Main side: takes the pieces as they come, each passed to `take`, until the end; throws if the worker stops offering them. */
export function takePieces(control: Int32Array, take: (count: number) => void): void {
  for (;;) {
    while (Atomics.load(control, 0) !== READY) {
      if (Atomics.wait(control, 0, TAKEN, PIECE_TIMEOUT_MS) === 'timed-out') throw new Error('an engine worker stopped handing over its transactions for the snapshot');
    }
    const count = Atomics.load(control, 1);
    if (count >= 0) take(count);
    Atomics.store(control, 0, TAKEN);
    Atomics.notify(control, 0);
    if (count < 0) return;
  }
}
