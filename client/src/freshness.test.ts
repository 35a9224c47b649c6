import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MESSAGE_AGE_MS, freshnessWindowMs, isFresh } from './freshness.js';

const MIN = 60_000;
const now = 1_800_000_000_000;
const windowMs = 10 * MIN;

describe('isFresh', () => {
  it('accepts [now − window − 5 min, now + 5 min] and nothing outside', () => {
    const oldest = now - windowMs - 5 * MIN;
    expect(isFresh(oldest, now, windowMs)).toBe(true);
    expect(isFresh(oldest - 1, now, windowMs)).toBe(false);
    expect(isFresh(now, now, windowMs)).toBe(true);
    expect(isFresh(now + 5 * MIN, now, windowMs)).toBe(true);
    expect(isFresh(now + 5 * MIN + 1, now, windowMs)).toBe(false);
  });

  it('refuses anything sent at or before what the replay cache forgot', () => {
    expect(isFresh(now - MIN, now, windowMs, now - MIN)).toBe(false);
    expect(isFresh(now - MIN + 1, now, windowMs, now - MIN)).toBe(true);
  });
});

describe('freshnessWindowMs', () => {
  it('lets the relay shorten the window, never lengthen it past the client bound', () => {
    expect(freshnessWindowMs(60, DEFAULT_MAX_MESSAGE_AGE_MS)).toBe(60_000);
    expect(freshnessWindowMs(10 * 365 * 86_400, DEFAULT_MAX_MESSAGE_AGE_MS)).toBe(7 * 86_400_000);
    expect(freshnessWindowMs(86_400, 3_600_000)).toBe(3_600_000);
  });
});
