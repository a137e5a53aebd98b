/**
 * What `--fsync` asks for (docs/journal.md says what each survives):
 * - always: every record is on disk before the run goes on.
 * - batch: records are written at once and flushed to disk by a timer off the hot path (group
 *   commit, at most GROUP_COMMIT_MS apart); input ends and snapshots are always flushed.
 * - off: never flushed by payrun (the OS writes it back when it likes).
 */
export type FsyncMode = 'always' | 'batch' | 'off';

export const FSYNC_MODES: readonly FsyncMode[] = ['always', 'batch', 'off'];

/** `--fsync` when not given: group commit. */
export const DEFAULT_FSYNC: FsyncMode = 'batch';
