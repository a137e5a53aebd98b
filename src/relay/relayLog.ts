import type { Writable } from 'node:stream';

export type RelayLog = (event: string, fields?: Record<string, unknown>) => void;

/**
 * One JSON line per event of note on stderr. Only what the relay decides goes in: keys, lines,
 * statuses, waits; never a request header (an Authorization value never reaches this function).
 * With a progress bar on the terminal, lines go above the bar.
 */
export function relayLog(stream: Writable, quiet: boolean, bar?: () => { log(line: string): void } | undefined): RelayLog {
  return (event, fields = {}) => {
    if (quiet && event !== 'error') return;
    const line = `${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`;
    const above = bar?.();
    if (above === undefined) stream.write(line);
    // The bar shows what a `delivered` line says; the others go above it.
    else if (event !== 'delivered') above.log(line);
  };
}
