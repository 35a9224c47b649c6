// Which Redis failures mean "the store cannot be reached right now" (→ StoreUnavailableError, 503)
// rather than a bug (→ rethrown as is, 500).
import { StoreUnavailableError } from '../mailbox-store.js';

/** Server replies that report a transient state of the deployment, not a wrong command. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|READONLY|OOM)\b/;

/**
 * Maps a rejection of an ioredis command. Everything ioredis raises that is not a server reply
 * (connection refused or closed, command timeout, MaxRetriesPerRequestError, a command refused
 * while the offline queue is off: see offline-queue-bound.ts) comes from the connection, so only a
 * non-transient `ReplyError` stays as it is.
 */
export function toStoreError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  if (
    error instanceof Error &&
    error.name === 'ReplyError' &&
    !TRANSIENT_REPLY.test(error.message)
  ) {
    return error;
  }
  return new StoreUnavailableError('Redis is unavailable', { cause: error });
}

/** Awaits one Redis call, mapping its failure; keep reply parsing outside so bugs stay bugs. */
export async function redisCall<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    throw toStoreError(error);
  }
}
