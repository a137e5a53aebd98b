/** An I/O error reported against the file the user named, as a write (not our temp file). */
export function asWriteError(error: unknown, path: string): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (errno && typeof errno.code === 'string') return Object.assign(errno, { path, syscall: 'write' });
  return error;
}
