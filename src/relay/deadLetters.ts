import { closeSync, fsyncSync, openSync } from 'node:fs';
import { writeFully } from '../io/writeFully.js';
import type { Answer } from './payoutClient.js';
import type { Delivery } from './relayEvent.js';

/**
 * The dead-letter file: one JSON line per delivery that failed for good (a permanent 4xx, or
 * --max-attempts used up), with the last status (or error), the answer's body and the events.
 * Appended and fsynced before the delivery is recorded done, so a dead letter is never lost; a
 * kill -9 between the two can write one twice (the same key): read it by key.
 */
export class DeadLetters {
  private readonly fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  write(delivery: Delivery, answer: Answer, reason: 'permanent' | 'attempts'): void {
    const line = {
      time: new Date().toISOString(),
      key: delivery.key,
      lines: delivery.lines,
      reason,
      attempts: delivery.attempts,
      ...('status' in answer ? { status: answer.status, body: answer.body ?? '' } : { error: answer.error }),
      events: JSON.parse(delivery.lines.length === 1 && !delivery.body.startsWith('[') ? `[${delivery.body}]` : delivery.body) as unknown[],
    };
    writeFully(this.fd, `${JSON.stringify(line)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
