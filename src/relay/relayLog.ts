import type { Writable } from 'node:stream';

export type RelayLog = (event: string, fields?: Record<string, unknown>) => void;

/**
 * One JSON line per event of note on stderr. Only what the relay decides goes in: keys, lines,
 * statuses, waits; never a request header (an Authorization value never reaches this function).
 */
export function relayLog(stream: Writable, quiet: boolean): RelayLog {
  return (event, fields = {}) => {
    if (quiet && event !== 'error') return;
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
  };
}
