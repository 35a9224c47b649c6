import { describe, expect, it } from 'vitest';
import { ReplayCache, rememberUntil } from './replay-cache.js';

const MIN = 60_000;
const ttlSeconds = 3_600;
const now = 1_800_000_000_000;

describe('ReplayCache', () => {
  it('remembers an id until sentAt + ttl + 10 min', () => {
    const cache = new ReplayCache();
    cache.remember('a', now - 5 * MIN, ttlSeconds, now);
    expect(cache.toJSON()).toEqual({ a: now - 5 * MIN + ttlSeconds * 1000 + 10 * MIN });
    expect(cache.has('a')).toBe(true);
    expect(cache.has('b')).toBe(false);
  });

  it('caps a future sentAt at the freshness skew', () => {
    expect(rememberUntil(now + 365 * 24 * 60 * MIN, ttlSeconds, now)).toBe(
      now + 5 * MIN + ttlSeconds * 1000 + 10 * MIN,
    );
  });

  it('never shortens a memory', () => {
    const cache = new ReplayCache();
    cache.remember('a', now, ttlSeconds, now);
    cache.remember('a', now - 30 * MIN, ttlSeconds, now);
    expect(cache.toJSON().a).toBe(rememberUntil(now, ttlSeconds, now));
  });

  it('prunes exactly the lapsed ids', () => {
    const cache = new ReplayCache([
      ['old', now - 1],
      ['edge', now],
      ['fresh', now + 1],
    ]);
    expect(cache.prune(now)).toBe(1);
    expect(Object.keys(cache.toJSON()).sort()).toEqual(['edge', 'fresh']);
    expect(cache.size).toBe(2);
    // Once pruned, a replay of that id would be stale: sentAt + ttl + 10 min < now.
    expect(cache.prune(now + 2)).toBe(2);
    expect(cache.size).toBe(0);
  });
});
