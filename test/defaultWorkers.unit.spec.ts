import { describe, expect, it } from 'vitest';
import { defaultWorkers, SMALL_INPUT_BYTES } from '../src/cli/options.js';

describe('the default worker count', () => {
  it('is 0 for a file under SMALL_INPUT_BYTES (a worker cannot pay for its start)', () => {
    expect(defaultWorkers(2, 0)).toBe(0);
    expect(defaultWorkers(8, SMALL_INPUT_BYTES - 1)).toBe(0);
  });
  it('is 1 for a larger file or a pipe of unknown size on 2+ cores, 0 on one core', () => {
    expect(defaultWorkers(2, SMALL_INPUT_BYTES)).toBe(1);
    expect(defaultWorkers(2, undefined)).toBe(1);
    expect(defaultWorkers(1, 1e12)).toBe(0);
  });
});
