// The arguments every store driver checks the same way before it touches its storage: a read's
// cursor and page size, and which of a delete's ids could name a message at all.
import { MESSAGE_ID_PATTERN } from '@deaddrop/contract';

/** Throws a RangeError for a cursor that is not a message id or a limit below 1. */
export function assertReadArguments(after: string, limit: number): void {
  if (!MESSAGE_ID_PATTERN.test(after)) throw new RangeError('read: `after` must be a message id');
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError('read: `limit` must be a positive integer');
}

/**
 * The distinct ids that have the shape of a message id: another shape cannot exist in any store,
 * and leaving it out keeps a driver's own parsing (Redis' XRANGE, the embedded cursor) from failing.
 */
export function deletableIds(ids: readonly string[]): string[] {
  return [...new Set(ids)].filter((id) => MESSAGE_ID_PATTERN.test(id));
}
