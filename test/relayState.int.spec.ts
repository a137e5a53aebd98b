// The relay's durable position on disk: restored after a clean stop and after a torn append
// (what kill -9 mid-write leaves), older log generations dropped, damage and a foreign input refused.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RelayStateError } from '../src/relay/deliveredLog.js';
import { GROUP_COMMIT_MS, RelayState } from '../src/relay/relayState.js';

const identity = { sourceId: 'abc123', types: '', batch: 1 };
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, GROUP_COMMIT_MS * 4));

describe('relay state', () => {
  const root = mkdtempSync(join(tmpdir(), 'payrun-relay-state-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const dir = (): string => join(root, `s${(n += 1)}`);

  it('records survive a clean stop: the low-water mark and the done lines above it', async () => {
    const d = dir();
    const state = RelayState.open(d, identity);
    for (const line of [1, 2, 3, 5, 6]) state.position.read(line);
    state.record([1]);
    state.record([3]);
    state.record([2]);
    state.record([6]);
    await state.close();
    // Line 4 was never selected: the mark stands just before the first open line, 5.
    expect(JSON.parse(readFileSync(join(d, 'checkpoint.json'), 'utf8'))).toEqual({ generation: 1, lowWater: 4, done: [6] });
    const again = RelayState.open(d, identity);
    expect([1, 2, 3, 5, 6, 7].map((line) => again.position.read(line))).toEqual([true, true, true, false, true, false]);
    await again.close();
  });

  it('without a clean stop (the log alone), a torn last line is cut off and its lines are sent again', async () => {
    const d = dir();
    const state = RelayState.open(d, identity);
    for (const line of [1, 2, 3]) state.position.read(line);
    state.record([1]);
    state.record([2]);
    await settle(); // the group is on disk; then the process "dies" without close()
    appendFileSync(join(d, 'delivered-0.log'), '3'); // a torn append: no newline
    const again = RelayState.open(d, identity);
    expect(readFileSync(join(d, 'delivered-0.log'), 'utf8')).toBe('1\n2\n');
    expect([1, 2, 3].map((line) => again.position.read(line))).toEqual([true, true, false]);
    again.record([3]);
    await again.close();
    expect(RelayState.open(d, identity).position.read(3)).toBe(true);
  });

  it('a log of an older generation (a kill between the new checkpoint and its removal) is dropped', async () => {
    const d = dir();
    const state = RelayState.open(d, identity);
    state.position.read(1);
    state.record([1]);
    await state.close();
    writeFileSync(join(d, 'delivered-0.log'), '1\n');
    RelayState.open(d, identity);
    expect(existsSync(join(d, 'delivered-0.log'))).toBe(false);
  });

  it('damage, another input, other --types or --batch are refused with one line', async () => {
    const d = dir();
    const state = RelayState.open(d, identity);
    await state.close();
    writeFileSync(join(d, 'delivered-1.log'), '1\nx y\n');
    expect(() => RelayState.open(d, identity)).toThrow(/delivered-1\.log' is damaged at line 2/);
    writeFileSync(join(d, 'delivered-1.log'), '');
    expect(() => RelayState.open(d, { ...identity, sourceId: 'other' })).toThrow(/belongs to another input \(source id abc123, this input's is other\)/);
    expect(() => RelayState.open(d, { ...identity, types: 'withdrawal' })).toThrow(RelayStateError);
    expect(() => RelayState.open(d, { ...identity, batch: 10 })).toThrow(/--batch 1, not 10/);
    writeFileSync(join(d, 'checkpoint.json'), '{"generation":1');
    expect(() => RelayState.open(d, identity)).toThrow(/is not JSON/);
  });
});
