/**
 * The journal's defaults that the CLI shows in --help, in a file of their own so that showing
 * them loads no journal code.
 */

/** Rows between snapshots of the whole state (`--snapshot-every`). */
export const DEFAULT_SNAPSHOT_EVERY = 4_000_000;
