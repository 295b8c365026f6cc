import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/runtime/heap-growth.js';

describe('heapGrowthFlag', () => {
  it('sets the default percent', () => {
    expect(heapGrowthFlag([], undefined)).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapGrowthFlag(['--enable-source-maps'], '--max-old-space-size=512')).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  });

  it('leaves a command-line value alone', () => {
    expect(heapGrowthFlag(['--heap-growing-percent=80'], undefined)).toBeUndefined();
    expect(heapGrowthFlag(['--heap_growing_percent=80'], undefined)).toBeUndefined();
    expect(heapGrowthFlag(['--heap-growing-percent', '80'], undefined)).toBeUndefined();
  });

  it('leaves a NODE_OPTIONS value alone', () => {
    expect(heapGrowthFlag([], '--max-old-space-size=512 --heap-growing-percent=80')).toBeUndefined();
  });

  it('ignores similar flag names', () => {
    expect(heapGrowthFlag(['--heap-growing-percentage=80'], undefined)).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  });
});
