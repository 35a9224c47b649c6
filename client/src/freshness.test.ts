import { describe, expect, it } from 'vitest';
import { isFresh } from './freshness.js';

const MIN = 60_000;
const now = 1_800_000_000_000;
const ttlSeconds = 600;

describe('isFresh', () => {
  it('accepts [now − ttl − 5 min, now + 5 min] and nothing outside', () => {
    const oldest = now - ttlSeconds * 1000 - 5 * MIN;
    expect(isFresh(oldest, now, ttlSeconds)).toBe(true);
    expect(isFresh(oldest - 1, now, ttlSeconds)).toBe(false);
    expect(isFresh(now, now, ttlSeconds)).toBe(true);
    expect(isFresh(now + 5 * MIN, now, ttlSeconds)).toBe(true);
    expect(isFresh(now + 5 * MIN + 1, now, ttlSeconds)).toBe(false);
  });
});
