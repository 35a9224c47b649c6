import { describe, expect, it } from 'vitest';
import { MemoryBuckets, perSecond } from './token-bucket.js';
import { LEASE_MS, leaseSize, leasedTokens } from './token-leases.js';

/** A shared bucket store in memory that counts its calls, on a clock the test moves. */
function sharedBuckets() {
  const buckets = new MemoryBuckets();
  let clock = 1_000_000;
  const calls: number[] = [];
  return {
    calls,
    tick: (ms: number) => (clock += ms),
    now: () => clock,
    take: (
      scope: string,
      name: string,
      rate: Parameters<MemoryBuckets['take']>[1],
      cost: number,
    ) => {
      calls.push(cost);
      return Promise.resolve(buckets.take(`${name} ${scope}`, rate, clock, cost));
    },
  };
}

describe('token leases', () => {
  it('sizes a lease at 100 ms of refill, at most a quarter of the bucket', () => {
    expect(leaseSize(perSecond(50, 100))).toBe(5);
    expect(leaseSize(perSecond(1000))).toBe(100);
    expect(leaseSize({ capacity: 8, perMs: 1 })).toBe(2);
    expect(leaseSize(perSecond(4, 4))).toBe(1);
  });

  it('spends leased tokens locally: one shared take per lease', async () => {
    const shared = sharedBuckets();
    const take = leasedTokens(shared.take, shared.now);
    const rate = perSecond(50, 100);
    for (let i = 0; i < 20; i++) expect(await take('a', 'calls', rate, 1)).toBe(0);
    expect(shared.calls).toEqual([5, 5, 5, 5]);
  });

  it('never lets one process exceed the shared limit', async () => {
    const shared = sharedBuckets();
    const take = leasedTokens(shared.take, shared.now);
    const rate = perSecond(50, 100);
    const granted = (
      await Promise.all(Array.from({ length: 150 }, () => take('a', 'calls', rate, 1)))
    ).filter((wait) => wait === 0).length;
    expect(granted).toBe(100);
  });

  it('shares one lease request among concurrent callers', async () => {
    const shared = sharedBuckets();
    const take = leasedTokens(shared.take, shared.now);
    await Promise.all(Array.from({ length: 5 }, () => take('a', 'calls', perSecond(50, 100), 1)));
    expect(shared.calls).toEqual([5]);
  });

  it('drops what a lease has not spent in time, and keeps exactness near the limit', async () => {
    const shared = sharedBuckets();
    const take = leasedTokens(shared.take, shared.now);
    const rate = perSecond(4, 4); // leases of one token: every call is exact
    for (let i = 0; i < 4; i++) expect(await take('a', 'calls', rate, 1)).toBe(0);
    expect(await take('a', 'calls', rate, 1)).toBeGreaterThan(0);

    const other = perSecond(50, 100);
    expect(await take('b', 'calls', other, 1)).toBe(0);
    shared.tick(LEASE_MS + 1);
    shared.calls.length = 0;
    expect(await take('b', 'calls', other, 1)).toBe(0);
    expect(shared.calls).toEqual([5]);
  });
});
