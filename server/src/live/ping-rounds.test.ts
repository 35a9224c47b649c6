import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPingRounds } from './ping-rounds.js';

describe('ping rounds', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('pings every stream once per interval, a bounded slice per tick', () => {
    const pinged: number[] = [];
    let perTick = 0;
    let maxPerTick = 0;
    const rounds = createPingRounds<number>(1_000, 10, (stream) => {
      pinged.push(stream);
      perTick++;
    });
    for (let i = 0; i < 95; i++) rounds.add(i);
    rounds.delete(7);
    for (let t = 0; t < 10; t++) {
      perTick = 0;
      vi.advanceTimersByTime(100);
      maxPerTick = Math.max(maxPerTick, perTick);
    }
    expect([...pinged].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 95 }, (_, i) => i).filter((i) => i !== 7),
    );
    expect(maxPerTick).toBe(10);
    rounds.close();
    vi.advanceTimersByTime(5_000);
    expect(pinged).toHaveLength(94);
  });
});
