// Seen inner message ids (PROTOCOL §2): an id seen before is dropped. Each is remembered with its
// `sentAt` while a copy could still pass the freshness check; when ids are forgotten, the cache
// raises `forgottenThrough` to the latest `sentAt` among them, and freshness refuses anything sent
// that early. So a replay is caught however the freshness window changes between runs (a relay's
// TTL claim can change at will), without remembering ids longer than the window needs.
import { PROTOCOL_LIMITS } from '@deaddrop/contract';

/**
 * How many ids dated beyond the freshness skew (stale now, fresh some day) are remembered. Each is
 * kept until its own date has passed, so a copy replayed once it became fresh is still caught; the
 * bound keeps a sender dating messages years ahead from growing the state file without end (past
 * it, the farthest-dated is forgotten first).
 */
export const MAX_FUTURE_DATED_IDS = 1_000;

export class ReplayCache {
  /** Inner id → its `sentAt` (ms), as the message said. */
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

  remember(uid: string, sentAt: number, now: number): void {
    const previous = this.#sentAt.get(uid);
    this.#sentAt.set(uid, previous === undefined ? sentAt : Math.max(previous, sentAt));
    if (sentAt > now + PROTOCOL_LIMITS.freshnessSkewMs) this.#boundFutureDated(now);
  }

  /** Unremembers `uid`: a message judged but never handed over (its reader failed before). */
  forget(uid: string): void {
    this.#sentAt.delete(uid);
  }

  /** Takes in what `other` remembers (another reader's, or the state file's). */
  absorb(other: ReplayCache): void {
    if (other === this) return;
    for (const [uid, sentAt] of other.#sentAt) {
      const mine = this.#sentAt.get(uid);
      this.#sentAt.set(uid, mine === undefined ? sentAt : Math.max(mine, sentAt));
    }
    this.#forgottenThrough = Math.max(this.#forgottenThrough, other.#forgottenThrough);
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

  /**
   * Drops the farthest-dated ids past the bound. `forgottenThrough` is not raised for them (it
   * would refuse every honest message until that date): a copy of one of those could pass once
   * its date comes, which only a flood of over a thousand future-dated messages can arrange.
   */
  #boundFutureDated(now: number): void {
    const horizon = now + PROTOCOL_LIMITS.freshnessSkewMs;
    const future = [...this.#sentAt].filter(([, sentAt]) => sentAt > horizon);
    if (future.length <= MAX_FUTURE_DATED_IDS) return;
    future.sort((a, b) => b[1] - a[1]);
    for (const [uid] of future.slice(0, future.length - MAX_FUTURE_DATED_IDS))
      this.#sentAt.delete(uid);
  }
}
