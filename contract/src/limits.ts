// Relay limits (PROTOCOL §5): configured on the relay, reported by `info`, enforced everywhere.
import { z } from 'zod';

/**
 * The largest message limit a relay may configure (and so claim): clients size what they buffer by
 * the claim, so it is bounded here, not taken on trust.
 */
export const MAX_MESSAGE_BYTES_CEILING = 64 * 1024 * 1024;

/** Most items one `sendMany` carries (PROTOCOL §8); also `PROTOCOL_LIMITS.sendManyItemsMax`. */
const PROTOCOL_SEND_MANY_ITEMS_MAX = 100;

export const limitsSchema = z.object({
  maxMessageBytes: z.number().int().positive().max(MAX_MESSAGE_BYTES_CEILING),
  ttlSeconds: z.number().int().positive(),
  maxMessages: z.number().int().positive(),
  authWindowSeconds: z.number().int().positive(),
  maxWaitMs: z.number().int().nonnegative(),
  /**
   * Largest sum of decoded ciphertexts one `sendMany` may carry (PROTOCOL §8). Absent from relays
   * that speak only v1 (they have no `sendMany`).
   */
  maxBatchBytes: z
    .number()
    .int()
    .positive()
    .max(PROTOCOL_SEND_MANY_ITEMS_MAX * MAX_MESSAGE_BYTES_CEILING)
    .optional(),
});
export type Limits = z.infer<typeof limitsSchema>;

/** `maxBatchBytes` of a relay that configures none: room for this many of the largest messages. */
export const DEFAULT_BATCH_MESSAGES = 4;

/** The `sendMany` byte limit `limits` state, or the protocol's default for it (PROTOCOL §8). */
export function batchBytesLimit(limits: Limits): number {
  return limits.maxBatchBytes ?? DEFAULT_BATCH_MESSAGES * limits.maxMessageBytes;
}

/** `Limits` as a relay that speaks v1.1 states them: with `maxBatchBytes`. */
export type RelayLimits = Limits & { readonly maxBatchBytes: number };

export const DEFAULT_LIMITS: RelayLimits = {
  maxMessageBytes: 1_048_576,
  ttlSeconds: 86_400,
  maxMessages: 10_000,
  authWindowSeconds: 60,
  maxWaitMs: 30_000,
  maxBatchBytes: DEFAULT_BATCH_MESSAGES * 1_048_576,
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
  /**
   * One-time prekeys one client address may claim per minute from one mailbox (PROTOCOL §10).
   * Relays from before prekeys have no `directory.claimPrekey`; 0 is what their `info` reads as.
   */
  prekeyClaimsPerMinute: z.number().int().nonnegative().default(0),
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
  // Every claim burns a prekey for all senders, so this bounds how fast one address can drain a
  // mailbox's stock: 200 (the most a relay holds) take 20 minutes, the SDK's 50 five, and the
  // metric and `stats.prekeys` show it long before. A busy legitimate sender writes one agent far
  // less than one message every 6 s for long; past the limit it seals v1 (no forward secrecy),
  // delivery never fails. Raise it for agents that exchange bursts.
  prekeyClaimsPerMinute: 10,
};

/** Fixed by the protocol rather than configured. */
export const PROTOCOL_LIMITS = {
  pollLimitMax: 100,
  pollLimitDefault: 50,
  deleteIdsMax: 100,
  /** Items (recipients) in one `sendMany` (PROTOCOL §8). */
  sendManyItemsMax: PROTOCOL_SEND_MANY_ITEMS_MAX,
  /** Clock skew tolerated on a message's `sentAt` beyond the TTL (PROTOCOL §2). */
  freshnessSkewMs: 5 * 60_000,
  /** How long past `sentAt + ttl` a seen message id is remembered (PROTOCOL §2). */
  replayMemoryMs: 10 * 60_000,
} as const;
