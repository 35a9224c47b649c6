// Message freshness (PROTOCOL §2): `sentAt` must lie in [now − ttl − 5 min, now + 5 min].
import { PROTOCOL_LIMITS } from '@deaddrop/contract';

export function isFresh(sentAt: number, now: number, ttlSeconds: number): boolean {
  const skew = PROTOCOL_LIMITS.freshnessSkewMs;
  return sentAt >= now - ttlSeconds * 1000 - skew && sentAt <= now + skew;
}
