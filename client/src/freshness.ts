// Message freshness (PROTOCOL §2), judged by a window the relay cannot stretch: the relay's TTL
// claim (`info.limits.ttlSeconds`) may shorten it, the client's own bound (`maxMessageAge`,
// DEADDROP_MAX_MESSAGE_AGE, default 7 days) caps it. A relay that claimed a short TTL while ids were
// remembered, then a long one, could otherwise get a forgotten message accepted again.
import { PROTOCOL_LIMITS } from '@deaddrop/contract';

/** The client's bound on a message's age when no other is configured. */
export const DEFAULT_MAX_MESSAGE_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** How far back a message may have been sent: the shorter of the relay's TTL and the client bound. */
export function freshnessWindowMs(relayTtlSeconds: number, maxMessageAgeMs: number): number {
  return Math.min(relayTtlSeconds * 1000, maxMessageAgeMs);
}

/**
 * `sentAt` within [now − window − 5 min, now + 5 min], and after `forgottenThrough`: the replay
 * cache no longer knows the ids of messages sent that early, so such a message could be a replay.
 */
export function isFresh(
  sentAt: number,
  now: number,
  windowMs: number,
  forgottenThrough = 0,
): boolean {
  const skew = PROTOCOL_LIMITS.freshnessSkewMs;
  return sentAt >= now - windowMs - skew && sentAt > forgottenThrough && sentAt <= now + skew;
}
