import { describe, expect, it } from 'vitest';
import { MemoryReasoningStash } from '../../src/conversation/reasoning-stash.js';
import { MemoryRecapStore } from '../../src/conversation/recap.js';

describe('MemoryReasoningStash', () => {
  it('reads empty before the first set', async () => {
    const stash = new MemoryReasoningStash({ maxEntries: 2, ttlMs: 60_000 });
    expect(stash.size).toBe(0);
    expect(await stash.get('call_1')).toBeUndefined();
  });

  it('keeps at most maxEntries ids', async () => {
    const stash = new MemoryReasoningStash({ maxEntries: 2, ttlMs: 60_000 });
    await stash.set(['call_1', 'call_2'], 'first');
    await stash.set(['call_3'], 'second');
    expect(stash.size).toBe(2);
    expect(await stash.get('call_1')).toBeUndefined();
    expect(await stash.get('call_2')).toBe('first');
    expect(await stash.get('call_3')).toBe('second');
  });

  it('skips reasoning over maxEntryChars', async () => {
    const stash = new MemoryReasoningStash({ maxEntries: 2, ttlMs: 60_000, maxEntryChars: 3 });
    await stash.set(['call_1'], 'long');
    expect(stash.size).toBe(0);
    expect(await stash.get('call_1')).toBeUndefined();
  });
});

describe('MemoryRecapStore', () => {
  it('returns what was set', async () => {
    const store = new MemoryRecapStore();
    expect(await store.get('key')).toBeUndefined();
    await store.set('key', 'recap');
    expect(await store.get('key')).toBe('recap');
  });
});
