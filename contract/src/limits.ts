// Relay limits (PROTOCOL §5): configured on the relay, reported by `info`, enforced everywhere.
import { z } from 'zod';

export const limitsSchema = z.object({
  maxMessageBytes: z.number().int().positive(),
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
