import type { Writable } from 'node:stream';

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
