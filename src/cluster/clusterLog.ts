import type { Writable } from 'node:stream';

export type Log = (event: string, fields?: Record<string, unknown>) => void;

/** Structured logs: one JSON line per event of note, on stderr. */
export function jsonLog(stream: Writable, owner: string, quiet = false): Log {
  return (event, fields = {}) => {
    if (quiet && event !== 'error') return;
    const line = Object.assign({ time: new Date().toISOString(), owner, event }, fields);
    stream.write(`${JSON.stringify(line)}\n`);
  };
}
