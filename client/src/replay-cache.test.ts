import { describe, expect, it } from 'vitest';
import { isFresh } from './freshness.js';
import { MAX_FUTURE_DATED_IDS, ReplayCache } from './replay-cache.js';

const MIN = 60_000;
const now = 1_800_000_000_000;
const windowMs = 60 * MIN;

describe('ReplayCache', () => {
  it('remembers an id with its sentAt', () => {
    const cache = new ReplayCache();
    cache.remember('a', now - 5 * MIN, now);
    expect([...cache.entries()]).toEqual([['a', now - 5 * MIN]]);
    expect(cache.has('a')).toBe(true);
    expect(cache.has('b')).toBe(false);
  });

  it('keeps a future-dated id until its own date has passed, at most MAX_FUTURE_DATED_IDS of them', () => {
    const cache = new ReplayCache();
    const year = 365 * 24 * 60 * MIN;
    cache.remember('a', now + year, now);
    expect([...cache.entries()]).toEqual([['a', now + year]]);
    expect(cache.prune(now + year, windowMs)).toBe(0);
    for (let i = 0; i < MAX_FUTURE_DATED_IDS + 5; i++)
      cache.remember(`f${i}`, now + MIN * (10 + i), now);
    expect(cache.size).toBe(MAX_FUTURE_DATED_IDS);
    // The farthest-dated went first: the year-ahead one among them.
    expect(cache.has('a')).toBe(false);
    expect(cache.has('f0')).toBe(true);
  });

  it('absorbs another cache and forgets on request', () => {
    const mine = new ReplayCache([['a', now - MIN]]);
    mine.absorb(
      new ReplayCache(
        [
          ['a', now],
          ['b', now - 2 * MIN],
        ],
        now - 99 * MIN,
      ),
    );
    expect(Object.fromEntries(mine.entries())).toEqual({ a: now, b: now - 2 * MIN });
    expect(mine.forgottenThrough).toBe(now - 99 * MIN);
    mine.forget('a');
    expect(mine.has('a')).toBe(false);
  });

  it('never shortens a memory', () => {
    const cache = new ReplayCache();
    cache.remember('a', now, now);
    cache.remember('a', now - 30 * MIN, now);
    expect([...cache.entries()]).toEqual([['a', now]]);
  });

  it('forgets exactly the ids sent before now − window − 10 min, and how far it forgot', () => {
    const cutoff = now - windowMs - 10 * MIN;
    const cache = new ReplayCache([
      ['old', cutoff - 5],
      ['older', cutoff - 9],
      ['edge', cutoff],
      ['fresh', now],
    ]);
    expect(cache.prune(now, windowMs)).toBe(2);
    expect([...cache.entries()].map(([uid]) => uid).sort()).toEqual(['edge', 'fresh']);
    expect(cache.forgottenThrough).toBe(cutoff - 5);
    // Never lowered.
    expect(cache.prune(now - windowMs, windowMs)).toBe(0);
    expect(cache.forgottenThrough).toBe(cutoff - 5);
  });

  it('refuses a forgotten message as stale however the window grows afterwards', () => {
    // A relay claimed a 1 s TTL while the message was remembered, then claims ten years.
    const sentAt = now;
    const cache = new ReplayCache();
    cache.remember('m', sentAt, now);
    const later = now + 11 * MIN;
    cache.prune(later, 1_000);
    expect(cache.has('m')).toBe(false);
    const tenYears = 10 * 365 * 24 * 60 * MIN;
    expect(isFresh(sentAt, later, tenYears, cache.forgottenThrough)).toBe(false);
    // A message sent after the forgotten one is judged by the window as usual.
    expect(isFresh(sentAt + 1, later, tenYears, cache.forgottenThrough)).toBe(true);
  });
});
