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
