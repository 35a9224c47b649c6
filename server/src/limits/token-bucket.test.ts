import { describe, expect, it } from 'vitest';
import { MemoryBuckets, perMinute, perSecond } from './token-bucket.js';

describe('memory token buckets', () => {
  it('forgets buckets that have refilled, so memory follows recent clients', () => {
    const buckets = new MemoryBuckets();
    const rate = perSecond(10);
    for (let i = 0; i < 4000; i++) buckets.take(`old-${String(i)}`, rate, 0);
    expect(buckets.size).toBe(4000);
    // A second later every old bucket is full again; the next round of takes prunes them.
    for (let i = 0; i < 200; i++) buckets.take(`new-${String(i)}`, rate, 5_000);
    expect(buckets.size).toBe(200);
  });

  it('lets a call larger than the bucket take the whole bucket rather than wait forever', () => {
    const buckets = new MemoryBuckets();
    expect(buckets.take('a', perMinute(5), 0, 50)).toBe(0);
    expect(buckets.take('a', perMinute(5), 0)).toBeGreaterThan(0);
  });
});
