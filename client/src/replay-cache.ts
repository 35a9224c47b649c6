// Seen inner message ids (PROTOCOL §2): an id seen before is dropped, and each is remembered until
// `sentAt + ttl + 10 min`, by which time a replay of it would be rejected as stale anyway.
import { PROTOCOL_LIMITS } from '@deaddrop/contract';

export class ReplayCache {
  readonly #expiries: Map<string, number>;

  constructor(entries: Iterable<readonly [string, number]> = []) {
    this.#expiries = new Map(entries);
  }

  has(uid: string): boolean {
    return this.#expiries.has(uid);
  }

  /**
   * Remembers `uid` for as long as a replay could still pass the freshness check. A `sentAt` in
   * the future is capped at the freshness skew, so a forged date cannot pin an entry forever.
   */
  remember(uid: string, sentAt: number, ttlSeconds: number, now: number): void {
    const until = rememberUntil(sentAt, ttlSeconds, now);
    const previous = this.#expiries.get(uid);
    this.#expiries.set(uid, previous === undefined ? until : Math.max(previous, until));
  }

  /** Forgets ids whose memory has lapsed; returns how many. */
  prune(now: number): number {
    let removed = 0;
    for (const [uid, until] of this.#expiries) {
      if (until < now) {
        this.#expiries.delete(uid);
        removed++;
      }
    }
    return removed;
  }

  get size(): number {
    return this.#expiries.size;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.#expiries);
  }
}

export function rememberUntil(sentAt: number, ttlSeconds: number, now: number): number {
  const latestSentAt = Math.min(sentAt, now + PROTOCOL_LIMITS.freshnessSkewMs);
  return latestSentAt + ttlSeconds * 1000 + PROTOCOL_LIMITS.replayMemoryMs;
}
