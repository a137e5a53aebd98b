/** A journal cannot be used as it is (damaged, locked, or the input does not fit it): exit 1, message as it is. */
export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

/** The journal is damaged before its end, or disagrees with itself: nothing is run on it. */
export class JournalDamaged extends JournalError {}
