// Token buckets, the shape of every rate limit: a bucket holds up to `capacity` tokens and refills
// at `perMs` tokens a millisecond; a call spends tokens or learns how long until there are enough.
// The Redis driver runs the same arithmetic in Lua (store/redis/includes/token-bucket.lua).

export interface BucketRate {
  readonly capacity: number;
  /** Tokens added per millisecond. */
  readonly perMs: number;
}

/** A bucket that never refuses: a limit configured as 0. */
export const UNLIMITED: BucketRate = { capacity: 0, perMs: 0 };

export function isUnlimited(rate: BucketRate): boolean {
  return rate.capacity <= 0 || rate.perMs <= 0;
}

export function perSecond(count: number, burst = count): BucketRate {
  return count > 0 ? { capacity: Math.max(burst, count), perMs: count / 1000 } : UNLIMITED;
}

export function perMinute(count: number): BucketRate {
  return count > 0 ? { capacity: count, perMs: count / 60_000 } : UNLIMITED;
}

export interface BucketState {
  readonly tokens: number;
  /** When `tokens` was true (ms). */
  readonly at: number;
}

/** Tokens in a bucket at `now`; an unknown bucket is full. */
function tokensAt(state: BucketState | undefined, rate: BucketRate, now: number): number {
  if (state === undefined) return rate.capacity;
  return Math.min(rate.capacity, state.tokens + Math.max(0, now - state.at) * rate.perMs);
}

/** Milliseconds until a bucket holding `tokens` holds `cost`. */
function waitFor(tokens: number, cost: number, rate: BucketRate): number {
  return Math.max(1, Math.ceil((cost - tokens) / rate.perMs));
}

/** More than a bucket can ever hold would wait forever: a call that large empties a full bucket. */
export function costWithin(cost: number, rate: BucketRate): number {
  return Math.min(Math.max(cost, 1), rate.capacity);
}

/**
 * Buckets in this process's memory (the embedded store's, which serves one process). Buckets that
 * have refilled are forgotten now and then, so memory follows the clients of the last minutes.
 */
export class MemoryBuckets {
  private readonly buckets = new Map<string, BucketState & { readonly fullAt: number }>();
  private takesSincePrune = 0;

  /** Takes `cost` tokens from bucket `key`: 0 when taken, else the ms to wait (nothing taken). */
  take(key: string, rate: BucketRate, now: number, cost = 1): number {
    if (isUnlimited(rate)) return 0;
    const wait = this.check(key, rate, now, cost);
    if (wait === 0) this.spend(key, rate, now, cost);
    return wait;
  }

  /** The ms until `cost` tokens are in bucket `key` (0: now), taking nothing. */
  check(key: string, rate: BucketRate, now: number, cost = 1): number {
    if (isUnlimited(rate)) return 0;
    const tokens = tokensAt(this.buckets.get(key), rate, now);
    const need = costWithin(cost, rate);
    return tokens >= need ? 0 : waitFor(tokens, need, rate);
  }

  spend(key: string, rate: BucketRate, now: number, cost = 1): void {
    if (isUnlimited(rate)) return;
    const tokens = tokensAt(this.buckets.get(key), rate, now) - costWithin(cost, rate);
    this.buckets.set(key, {
      tokens,
      at: now,
      fullAt: now + Math.ceil((rate.capacity - tokens) / rate.perMs),
    });
    if (++this.takesSincePrune >= 4096) this.prune(now);
  }

  get size(): number {
    return this.buckets.size;
  }

  private prune(now: number): void {
    this.takesSincePrune = 0;
    for (const [key, state] of this.buckets) if (state.fullAt <= now) this.buckets.delete(key);
  }
}
