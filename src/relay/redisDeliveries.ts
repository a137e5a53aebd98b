import { decodeEvents, eventJson } from '../cluster/eventCodec.js';
import { RejectReason } from '../domain/rejectReason.js';
import { TYPE_NAMES } from '../io/rowEvent.js';
import type { RedisEventSource } from './redisSource.js';
import type { RelayProgress } from './relay.js';
import { type Delivery, type EntryReceipt, makeDelivery, RelaySourceError, type SelectedEvent } from './relayEvent.js';
import type { CutSettings } from './eventSource.js';

/**
 * The deliveries of the Redis source, entry by entry: each entry's applied rows of the chosen
 * types as the events `payrun events` prints (rejected rows are never formatted), one a delivery
 * or cut into batches of the entry's k-th N selected events (an entry handed out again after a
 * restart is cut the same: the same keys). An entry with nothing to send is acknowledged at once.
 * An entry read again (pending after a kill) comes with the bitmap of its rows done before
 * (`done`): those are not sent again.
 */
export async function* redisDeliveries(source: RedisEventSource, cut: CutSettings, drain: boolean, skipped: () => void = () => undefined): AsyncGenerator<Delivery[]> {
  const { sourceId, types, batch } = cut;
  for await (const page of source.entries(drain)) {
    // An entry at a time: the relay's read-ahead window is checked between entries (an entry holds a whole committed batch).
    for (const { partition, id, bytes, done } of page) {
      const deliveries: Delivery[] = [];
      const receipt: EntryReceipt = { open: 0, done: () => source.ack(partition, id), mark: (index) => source.markDone(partition, id, index) };
      // An entry trimmed away while pending has nothing left to send.
      const rows = bytes === undefined ? [] : decoded(bytes, partition, id);
      let events: SelectedEvent[] = [];
      let selected = 0;
      for (let index = 0; index < rows.length; index++) {
        const row = rows[index]!;
        if (row.reason !== RejectReason.None) continue;
        if (types !== undefined && !types.has(TYPE_NAMES[row.type]!)) continue;
        selected += 1;
        // Done in an earlier run (this entry read again): not sent again, but still counted for the batch cut.
        if (done !== undefined && (done[index >> 3]! & (0x80 >> (index & 7))) !== 0) skipped();
        else {
          receipt.open += 1;
          events.push({ line: row.line, client: row.client, text: eventJson(row, partition), id: `${row.input}-${row.line}`, entry: { receipt, index } });
        }
        if (selected % batch === 0) {
          if (events.length > 0) deliveries.push(makeDelivery(sourceId, events, batch > 1));
          events = [];
        }
      }
      if (events.length > 0) deliveries.push(makeDelivery(sourceId, events, batch > 1));
      if (receipt.open === 0) receipt.done();
      if (deliveries.length > 0) yield deliveries;
    }
  }
}

function decoded(bytes: Buffer, partition: number, id: string): ReturnType<typeof decodeEvents>['rows'] {
  try {
    return decodeEvents(bytes).rows;
  } catch (error) {
    throw new RelaySourceError(`events entry ${id} of partition ${partition} is not one payrun consume writes: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The Redis source's position: an entry is acknowledged when the last of its events is done. */
export function entryProgress(source: RedisEventSource): RelayProgress {
  return {
    finish(delivery) {
      for (const { receipt, index } of delivery.entries ?? []) {
        receipt.open -= 1;
        if (receipt.open === 0) receipt.done();
        else receipt.mark(index);
      }
    },
    fields: () => ({ acknowledged_entries: source.acknowledged }),
  };
}
