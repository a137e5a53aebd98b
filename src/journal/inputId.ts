import { STREAM_INPUT } from './inputs.js';

/**
 * An input's id as a person reads it: a file's SHA-256 cut to 12 hex digits (plenty to tell
 * files apart), a message stream's id (`stream:...`, which names the stream and run) in full.
 */
export function describeInputId(id: string): string {
  return id.startsWith(STREAM_INPUT) ? `id ${id}` : `sha256 ${id.slice(0, 12)}`;
}
