// The times a stored message carries, derived from its id (PROTOCOL §3): both drivers use this.
import type { AppendedMessage } from './mailbox-store.js';

/** `receivedAt` is the id's ms part; `expiresAt` adds the TTL. */
export function messageTimes(id: string, ttlSeconds: number): AppendedMessage {
  const receivedAt = Number(id.slice(0, id.indexOf('-')));
  return { id, receivedAt, expiresAt: receivedAt + ttlSeconds * 1000 };
}
