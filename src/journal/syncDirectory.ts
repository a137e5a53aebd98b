import { closeSync, fsyncSync, openSync } from 'node:fs';

/** Makes a rename or a new file in dir durable (its directory entry is on disk). */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
