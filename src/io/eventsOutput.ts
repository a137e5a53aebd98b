import type { Writable } from 'node:stream';

/**
 * Writes a group's events to stdout and waits until they are written (so a slow reader holds
 * back reading, not memory). Resolves false if the reader went away (EPIPE): `onClosed` runs
 * first, synchronously in the write's callback, because the bin shim exits 0 on the 'error'
 * event that follows it, and the run's last durable steps must happen before that.
 */
export function writeEvents(stdout: Writable, text: string, onClosed: () => void): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: NodeJS.ErrnoException): void => {
      if (settled) return;
      settled = true;
      stdout.off('error', fail);
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') {
        try {
          onClosed();
        } catch (closeError) {
          reject(closeError);
          return;
        }
        resolve(false);
      } else reject(error);
    };
    stdout.on('error', fail);
    stdout.write(text, (error) => {
      if (error) return fail(error as NodeJS.ErrnoException);
      if (settled) return;
      settled = true;
      stdout.off('error', fail);
      resolve(true);
    });
  });
}
