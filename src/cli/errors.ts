import { InputError } from '../io/inputError.js';
import { JournalError } from '../journal/journalError.js';

/** One line for a fatal error, never a stack trace: `payrun: <what> (<file>:<line>)`. */
export function describeError(error: unknown, file?: string): string {
  if (error instanceof InputError) {
    const where = file !== undefined && error.line !== undefined ? ` (${file}:${error.line})` : file !== undefined ? ` (${file})` : '';
    return `payrun: ${error.message}${where}${error.detail !== undefined ? `, ${error.detail}` : ''}`;
  }
  if (error instanceof JournalError) return `payrun: ${error.message}`;
  const errno = error as NodeJS.ErrnoException;
  if (errno && typeof errno.code === 'string' && typeof errno.syscall === 'string') {
    const path = errno.path !== undefined ? ` '${errno.path}'` : '';
    return `payrun: cannot ${verb(errno.syscall)}${path}: ${reasonText(errno.code, errno.message)}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `payrun: ${message.split('\n')[0]}`;
}

/** A clean-up step after a failure: an error of its own is dropped, as the first error is the one to report. */
export async function cleanUpAfterFailure(step: () => unknown): Promise<void> {
  try {
    await step();
  } catch {
    // the first error is the one to report
  }
}

function verb(syscall: string): string {
  if (syscall === 'open' || syscall === 'read') return 'read';
  if (syscall === 'write' || syscall === 'rename' || syscall === 'close') return 'write';
  return syscall;
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
};

function reasonText(code: string, message: string): string {
  return REASONS[code] ?? message.replace(/^[A-Z]+: /, '').split(',')[0] ?? code;
}

/** What a Redis connection knows of its failure (RedisTransport's `refusal` and `unreachable`). */
interface RedisFailure {
  refusal?: unknown;
  unreachable?: string;
}

/** One line for a cluster command's fatal error: Redis out of reach (and not refusing us), or describeError's line. */
export function describeRedisError(error: unknown, transport: RedisFailure, display: string): string {
  const unreachable = transport.refusal === undefined ? transport.unreachable : undefined;
  return unreachable !== undefined ? `payrun: cannot reach redis at ${display}: ${unreachable}` : describeError(error);
}
