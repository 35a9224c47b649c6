// Validation of the limits every driver is built with: a zero or fractional TTL or quota would
// silently disable expiry or refuse every send.
import type { StoreOptions } from './mailbox-store.js';

export function assertValidStoreOptions(options: StoreOptions): void {
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds < 1) {
    throw new RangeError('store ttlSeconds must be a positive integer');
  }
  if (!Number.isSafeInteger(options.maxMessages) || options.maxMessages < 1) {
    throw new RangeError('store maxMessages must be a positive integer');
  }
}
