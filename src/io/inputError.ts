/** A fatal problem with the input or an I/O operation: exit 1 with `payrun: <message> (<file>:<line>)`. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'InputError';
  }
}
