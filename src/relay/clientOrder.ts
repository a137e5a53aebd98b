/**
 * Per-client order: a delivery (one event, or a batch) may start only when every earlier delivery
 * that shares a client with it has finished (acknowledged or dead-lettered). Deliveries of other
 * clients go in parallel. Each client has a FIFO of the deliveries naming it; a delivery is ready
 * when it heads the FIFO of every client it names. The earliest unfinished delivery always heads
 * all of its FIFOs, so something is always ready while anything waits (no deadlock).
 */
export interface Ordered {
  readonly clients: readonly number[];
}

export class ClientOrder<T extends Ordered> {
  private readonly queues = new Map<number, T[]>();
  private readonly ready: T[] = [];
  private readyHead = 0;
  /** Deliveries added and not yet finished. */
  size = 0;

  add(delivery: T): void {
    this.size += 1;
    let heads = true;
    for (const client of delivery.clients) {
      const queue = this.queues.get(client);
      if (queue === undefined) this.queues.set(client, [delivery]);
      else {
        queue.push(delivery);
        heads = false;
      }
    }
    if (heads) this.ready.push(delivery);
  }

  /** The next ready delivery in the order they became ready, or undefined. */
  next(): T | undefined {
    if (this.readyHead >= this.ready.length) return undefined;
    const delivery = this.ready[this.readyHead++]!;
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
    return delivery;
  }

  /** A started delivery is done: the next delivery of each of its clients may become ready. */
  finish(delivery: T): void {
    this.size -= 1;
    for (const client of delivery.clients) {
      const queue = this.queues.get(client)!;
      if (queue[0] !== delivery) throw new Error(`delivery finished out of order for client ${client}`);
      queue.shift();
      if (queue.length === 0) {
        this.queues.delete(client);
        continue;
      }
      const following = queue[0]!;
      if (following.clients.every((c) => this.queues.get(c)![0] === following)) this.ready.push(following);
    }
  }

  /** Ready deliveries not yet taken. */
  get readyCount(): number {
    return this.ready.length - this.readyHead;
  }
}
