/**
 * What a journal input is. It is a field of every input (InputEntry.kind); on disk (format 1)
 * it is carried by the input's id, which this file alone reads: a file's id is its SHA-256, a
 * stream's starts with `stream:`. Old journals therefore read as they are.
 */
export type InputKind =
  /** A regular file, recognised by its content: resumed when unfinished. */
  | 'file'
  /** The standard input of a `payrun stream` run: never resumed (a pipe cannot be read again). */
  | 'stdin'
  /** A partition of a cluster (`payrun consume`): never ends, resumed by whoever takes it. */
  | 'partition'
  /**
   * A named source of `payrun stream --source NAME`: one input per run, each going on from the
   * line (and byte) where the source's last input stopped; a killed run's input is resumed by
   * the next run of that name.
   */
  | 'source'
  /** A message stream of a kind this payrun does not begin (refused by every run). */
  | 'stream';

const STREAM = 'stream:';
const STDIN = `${STREAM}stdin:`;
const PARTITION = `${STREAM}partition:`;
const SOURCE = `${STREAM}source:`;

/** The kind of the input with this id (the one place that looks at an id's shape). */
export function inputKindOf(id: string): InputKind {
  if (!id.startsWith(STREAM)) return 'file';
  if (id.startsWith(STDIN)) return 'stdin';
  if (id.startsWith(PARTITION)) return 'partition';
  if (id.startsWith(SOURCE)) return 'source';
  return 'stream';
}

/** The id of a `payrun stream` run's standard input: it names a run (time and pid), not content. */
export function stdinStreamId(now = new Date(), pid = process.pid): string {
  return `${STDIN}${now.toISOString()}:${pid}`;
}

/** The id of every input of the named stream source `name` (`payrun stream --source NAME`): the name is the identity. */
export function sourceStreamId(name: string): string {
  return `${SOURCE}${name}`;
}

/** The id of a cluster partition's input, from the partition's stream name (`<prefix>:tx:<p>`). */
export function partitionInputId(stream: string): string {
  return `${PARTITION}${stream}`;
}

/**
 * An input's id as a person reads it: a file's SHA-256 cut to 12 hex digits (plenty to tell
 * files apart), a stream's id (which names the stream and run) in full.
 */
export function describeInputId(input: { kind: InputKind; sha256: string }): string {
  return input.kind === 'file' ? `sha256 ${input.sha256.slice(0, 12)}` : `id ${input.sha256}`;
}
