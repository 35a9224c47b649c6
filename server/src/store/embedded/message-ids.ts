// Message ids as the embedded store keeps them: `(ms, seq)` integer pairs, and the TTL bound.
import type { Cursor, IdRow } from './statements.js';

export function formatId(row: IdRow): string {
  return `${row.ms}-${row.seq}`;
}

/** For ids that passed MESSAGE_ID_PATTERN; their parts may exceed 2^53, hence bigint. */
export function parseCursor(id: string): Cursor {
  const [ms = '0', seq = '0'] = id.split('-');
  return { ms: BigInt(ms), seq: BigInt(seq) };
}

/** Messages with a smaller ms part have expired (expiresAt = ms + ttl ≤ now). */
export function oldestLiveMs(now: number, ttlMs: number): number {
  return now - ttlMs + 1;
}
