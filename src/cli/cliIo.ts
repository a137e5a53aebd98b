import type { Readable, Writable } from 'node:stream';

/** The process's streams, passed in so that tests can run main() in-process. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
}

export const ExitCode = { Ok: 0, Fatal: 1, Usage: 2, Interrupted: 130, Terminated: 143 } as const;

/** A usage error: exit 2 with one line on stderr. */
export class UsageError extends Error {}

/** Writes to a stream and waits until it is flushed; resolves false if the reader went away (EPIPE). */
export function writeAll(stream: Writable, data: string | Uint8Array): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') resolve(false);
      else reject(error);
    };
    stream.once('error', onError);
    stream.write(data, (error) => {
      stream.off('error', onError);
      if (error) onError(error as NodeJS.ErrnoException);
      else resolve(true);
    });
  });
}
