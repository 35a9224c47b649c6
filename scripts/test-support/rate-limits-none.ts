// Every rate limit of the contract off (0: no limit), for tests that run the relay's procedures
// in-process, where a guard must be decided before any store is asked.
import type { RateLimits } from '@deaddrop/contract';

export const RATE_LIMITS_NONE: RateLimits = {
  requestsPerSecond: 0,
  requestBurst: 0,
  subscriptionsPerMinute: 0,
  mailboxMessagesPerMinute: 0,
  senderMessagesPerMinute: 0,
  registrationsPerMinute: 0,
  liveConnectionsPerAddress: 0,
  prekeyClaimsPerMinute: 0,
};
