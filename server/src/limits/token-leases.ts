// Calls are the one rate limit checked on every request, and on Redis each check would be a round
// trip. So a relay process takes tokens from the shared bucket a few at a time — a lease of 100 ms
// worth, at most a quarter of the bucket — and spends them locally. What it has not spent within
// LEASE_MS is dropped, never handed back, so spread over processes a client can only get less than
// its limit, and one process holds back at most one small lease while another refuses.
import { isUnlimited, type BucketRate } from './token-bucket.js';

export type TakeTokens = (
  scope: string,
  name: string,
  rate: BucketRate,
  cost: number,
) => Promise<number>;

export const LEASE_MS = 1_000;
const LEASE_WINDOW_MS = 100;
const PRUNE_ABOVE = 10_000;

/** Tokens one lease takes: 100 ms of refill, at most a quarter of the bucket, at least one. */
export function leaseSize(rate: BucketRate): number {
  return Math.max(
    1,
    Math.min(Math.floor(rate.perMs * LEASE_WINDOW_MS), Math.floor(rate.capacity / 4)),
  );
}

interface Lease {
  tokens: number;
  readonly expiresAt: number;
}

export function leasedTokens(take: TakeTokens, now: () => number = Date.now): TakeTokens {
  const leases = new Map<string, Lease>();
  // One lease request per bucket at a time: callers arriving meanwhile wait for it.
  const fetching = new Map<string, Promise<void>>();

  const spendLocally = (key: string, cost: number): boolean => {
    const lease = leases.get(key);
    if (lease === undefined || lease.expiresAt <= now() || lease.tokens < cost) return false;
    lease.tokens -= cost;
    return true;
  };

  const fetchLease = (
    key: string,
    scope: string,
    name: string,
    rate: BucketRate,
  ): Promise<void> => {
    let pending = fetching.get(key);
    if (pending === undefined) {
      const size = leaseSize(rate);
      pending = take(scope, name, rate, size)
        .then((wait) => {
          if (wait === 0) leases.set(key, { tokens: size, expiresAt: now() + LEASE_MS });
          if (leases.size > PRUNE_ABOVE) prune();
        })
        .finally(() => fetching.delete(key));
      fetching.set(key, pending);
    }
    return pending;
  };

  const prune = (): void => {
    const at = now();
    for (const [key, lease] of leases) if (lease.expiresAt <= at) leases.delete(key);
  };

  return async (scope, name, rate, cost) => {
    if (isUnlimited(rate)) return 0;
    const key = `${name} ${scope}`;
    if (spendLocally(key, cost)) return 0;
    if (cost < leaseSize(rate)) {
      await fetchLease(key, scope, name, rate);
      if (spendLocally(key, cost)) return 0;
    }
    // Near the limit (no whole lease left) or a call as large as a lease: exactly what it costs.
    return take(scope, name, rate, cost);
  };
}
