/** A fatal problem with the input or an I/O operation: exit 1 with `payrun: <message> (<file>:<line>)`. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    /** Said after the place: `(<file>:<line>), <detail>` (the message itself stays as the contract words it). */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}
