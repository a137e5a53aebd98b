// A FIFO or pipe with no writer waits silently unless told: the decision (only to a person at a
// terminal, never under --quiet, never for a regular file) and the once-only notice on a wait.
import { describe, expect, it } from 'vitest';
import { once, sayIfWaiting, waitingNotice, waitingNoticeWanted } from '../src/io/waitingNotice.js';

async function* chunksAfter(ms: number, chunks: string[]): AsyncGenerator<Buffer> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  for (const chunk of chunks) {
    yield Buffer.from(chunk);
    await new Promise((resolve) => setTimeout(resolve, ms)); // later waits are not the first byte's
  }
}

async function drain(source: AsyncIterable<Buffer>): Promise<string> {
  let text = '';
  for await (const chunk of source) text += chunk.toString();
  return text;
}

describe('waitingNoticeWanted', () => {
  it('only when stderr is a terminal, not quiet, and the input is not a regular file', () => {
    expect(waitingNoticeWanted({ isTTY: true }, false, false)).toBe(true);
    expect(waitingNoticeWanted({}, false, false)).toBe(false);
    expect(waitingNoticeWanted({ isTTY: false }, false, false)).toBe(false);
    expect(waitingNoticeWanted({ isTTY: true }, true, false)).toBe(false);
    expect(waitingNoticeWanted({ isTTY: true }, false, true)).toBe(false);
  });

  it('names the input', () => {
    expect(waitingNotice('stdin')).toBe('waiting for input on stdin…');
  });
});

describe('sayIfWaiting', () => {
  it('says it once when the first chunk is late, and passes every chunk on', async () => {
    let said = 0;
    const text = await drain(sayIfWaiting(chunksAfter(300, ['a\n', 'b\n']), () => said++, 20));
    expect(text).toBe('a\nb\n');
    expect(said).toBe(1);
  });

  it('says nothing when the first chunk comes in time, however long the later ones take', async () => {
    let said = 0;
    async function* quickThenSlow(): AsyncGenerator<Buffer> {
      yield Buffer.from('a\n');
      await new Promise((resolve) => setTimeout(resolve, 200));
      yield Buffer.from('b\n');
    }
    expect(await drain(sayIfWaiting(quickThenSlow(), () => said++, 100))).toBe('a\nb\n');
    expect(said).toBe(0);
  });

  it('an input that ends without a byte, in time: nothing said; once() says a line at most once', async () => {
    let said = 0;
    expect(await drain(sayIfWaiting(chunksAfter(0, []), () => said++, 1000))).toBe('');
    expect(said).toBe(0);
    const say = once(() => said++);
    say();
    say();
    expect(said).toBe(1);
  });
});
