// Seen inner message ids (PROTOCOL §2): an id seen before is dropped. Each is remembered with its
// `sentAt` while a copy could still pass the freshness check; when ids are forgotten, the cache
// raises `forgottenThrough` to the latest `sentAt` among them, and freshness refuses anything sent
// that early. So a replay is caught however the freshness window changes between runs (a relay's
// TTL claim can change at will), without remembering ids longer than the window needs.
import { PROTOCOL_LIMITS } from '@deaddrop/contract';

export class ReplayCache {
  /** Inner id → its `sentAt` (ms; a future one capped at now + skew). */
  readonly #sentAt: Map<string, number>;
  #forgottenThrough: number;

  constructor(entries: Iterable<readonly [string, number]> = [], forgottenThrough = 0) {
    this.#sentAt = new Map(entries);
    this.#forgottenThrough = forgottenThrough;
  }

  has(uid: string): boolean {
    return this.#sentAt.has(uid);
  }

  /** Messages sent at or before this (ms) may have been forgotten: they cannot be told from replays. */
  get forgottenThrough(): number {
    return this.#forgottenThrough;
  }

  /**
   * Remembers `uid`. A `sentAt` in the future is capped at the freshness skew, so a forged date
   * cannot keep an entry forever.
   */
  remember(uid: string, sentAt: number, now: number): void {
    const kept = Math.min(sentAt, now + PROTOCOL_LIMITS.freshnessSkewMs);
    const previous = this.#sentAt.get(uid);
    this.#sentAt.set(uid, previous === undefined ? kept : Math.max(previous, kept));
  }

  /**
   * Forgets ids of messages sent before `now − window − 10 min` (past the freshness window and its
   * 5 min skew, with room to spare), raising `forgottenThrough` to the latest of them. Returns how
   * many were forgotten.
   */
  prune(now: number, windowMs: number): number {
    const cutoff = now - windowMs - PROTOCOL_LIMITS.replayMemoryMs;
    let removed = 0;
    for (const [uid, sentAt] of this.#sentAt) {
      if (sentAt < cutoff) {
        this.#sentAt.delete(uid);
        this.#forgottenThrough = Math.max(this.#forgottenThrough, sentAt);
        removed++;
      }
    }
    return removed;
  }

  get size(): number {
    return this.#sentAt.size;
  }

  entries(): IterableIterator<[string, number]> {
    return this.#sentAt.entries();
  }
}
