// Relay limits (PROTOCOL §5): configured on the relay, reported by `info`, enforced everywhere.
import { z } from 'zod';

/**
 * The largest message limit a relay may configure (and so claim): clients size what they buffer by
 * the claim, so it is bounded here, not taken on trust.
 */
export const MAX_MESSAGE_BYTES_CEILING = 64 * 1024 * 1024;

export const limitsSchema = z.object({
  maxMessageBytes: z.number().int().positive().max(MAX_MESSAGE_BYTES_CEILING),
  ttlSeconds: z.number().int().positive(),
  maxMessages: z.number().int().positive(),
  authWindowSeconds: z.number().int().positive(),
  maxWaitMs: z.number().int().nonnegative(),
});
export type Limits = z.infer<typeof limitsSchema>;

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 1_048_576,
  ttlSeconds: 86_400,
  maxMessages: 10_000,
  authWindowSeconds: 60,
  maxWaitMs: 30_000,
};

/**
 * Rate limits (configured on the relay, reported by `info`); 0 turns one off. Each rate is a token
 * bucket: it holds up to its per-minute (or burst) number of tokens and refills at that rate.
 */
export const rateLimitsSchema = z.object({
  /** Calls per second from one client address, any procedure. */
  requestsPerSecond: z.number().int().nonnegative(),
  /** How many calls from one address may come at once above that rate. */
  requestBurst: z.number().int().nonnegative(),
  /** Live inbox subscriptions opened per minute from one client address. */
  subscriptionsPerMinute: z.number().int().nonnegative(),
  /** Messages one mailbox accepts per minute, from everyone. */
  mailboxMessagesPerMinute: z.number().int().nonnegative(),
  /** Messages one mailbox accepts per minute from one client address. */
  senderMessagesPerMinute: z.number().int().nonnegative(),
  /** Registrations per minute from one client address. */
  registrationsPerMinute: z.number().int().nonnegative(),
  /**
   * Live connections (WebSockets, SSE streams) one client address may hold open at once on one
   * relay process: a cap, not a rate. Relays from before it had no cap, which 0 (the default when
   * an older relay's `info` leaves it out) says.
   */
  liveConnectionsPerAddress: z.number().int().nonnegative().default(0),
});
export type RateLimits = z.infer<typeof rateLimitsSchema>;

export const DEFAULT_RATE_LIMITS: RateLimits = {
  requestsPerSecond: 50,
  requestBurst: 100,
  subscriptionsPerMinute: 60,
  mailboxMessagesPerMinute: 600,
  senderMessagesPerMinute: 120,
  registrationsPerMinute: 10,
  liveConnectionsPerAddress: 100,
};

/** Fixed by the protocol rather than configured. */
export const PROTOCOL_LIMITS = {
  pollLimitMax: 100,
  pollLimitDefault: 50,
  deleteIdsMax: 100,
  /** Clock skew tolerated on a message's `sentAt` beyond the TTL (PROTOCOL §2). */
  freshnessSkewMs: 5 * 60_000,
  /** How long past `sentAt + ttl` a seen message id is remembered (PROTOCOL §2). */
  replayMemoryMs: 10 * 60_000,
} as const;
