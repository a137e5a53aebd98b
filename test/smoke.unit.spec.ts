import { describe, expect, it } from 'vitest';
import { csv, runCsv } from './support/runCsv.js';

describe('runCsv', () => {
  it.each([0, 2])('applies a deposit with %i workers', async (workers) => {
    const result = await runCsv(csv('deposit,1,1,1.5'), { workers });
    expect(result.accounts).toBe('client,available,held,total,locked\n1,1.5000,0.0000,1.5000,false\n');
    expect(result.rejects).toBe('line,reason,row\n');
  });
});
