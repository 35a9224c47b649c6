// Inputs and outputs of every relay procedure (PROTOCOL §3).
import { z } from 'zod';
import { b64uDecodedLength, fromB64uByte0, isCanonicalB64u } from '../encoding/b64u.js';
import { ENVELOPE_VERSION, MIN_CIPHERTEXT_BYTES } from '../envelope.js';
import { PROTOCOL_LIMITS, limitsSchema, rateLimitsSchema } from '../limits.js';
import {
  agentIdSchema,
  agentKeySchema,
  idempotencyKeySchema,
  messageIdSchema,
  relayIdSchema,
  signatureSchema,
  timestampSchema,
} from './primitives.js';

export const infoOutput = z.object({
  relayId: relayIdSchema,
  version: z.string(),
  limits: limitsSchema,
  rateLimits: rateLimitsSchema,
});

export const agentRecord = z.object({
  agentId: agentIdSchema,
  agentKey: z.string(),
  registeredAt: timestampSchema,
});
export type AgentRecord = z.infer<typeof agentRecord>;

export const registerInput = z.object({
  agentId: agentIdSchema,
  agentKey: agentKeySchema,
  ts: timestampSchema,
  sig: signatureSchema,
});

/** What `directory.register` hands its handler (the schema's output). */
export type RegisterInput = z.output<typeof registerInput>;

export const lookupInput = z.object({ agentId: agentIdSchema });

/**
 * A sealed envelope as the relay sees it: canonical b64u, version byte 0x01, at least the smallest
 * possible envelope. The size limit is the relay's configuration, checked after this.
 */
export const ciphertextSchema = z.string().superRefine((text, ctx) => {
  if (!isCanonicalB64u(text)) {
    ctx.addIssue({
      code: 'custom',
      message: 'ciphertext must be canonical base64url without padding',
    });
  } else if (b64uDecodedLength(text) < MIN_CIPHERTEXT_BYTES) {
    ctx.addIssue({
      code: 'custom',
      message: `ciphertext must decode to at least ${MIN_CIPHERTEXT_BYTES} bytes`,
    });
  } else if (fromB64uByte0(text) !== ENVELOPE_VERSION) {
    ctx.addIssue({ code: 'custom', message: 'ciphertext version byte must be 0x01' });
  }
});

export const sendInput = z.object({
  to: agentIdSchema,
  ciphertext: ciphertextSchema,
  idempotencyKey: idempotencyKeySchema.optional(),
});

export type SendInput = z.output<typeof sendInput>;

export const sendOutput = z.object({
  id: messageIdSchema,
  receivedAt: timestampSchema,
  expiresAt: timestampSchema,
  duplicate: z.boolean(),
});
export type SendResult = z.infer<typeof sendOutput>;

export const storedMessage = z.object({
  id: messageIdSchema,
  ciphertext: z.string(),
  receivedAt: timestampSchema,
  expiresAt: timestampSchema,
});
export type StoredMessage = z.infer<typeof storedMessage>;

export const pollInput = z
  .object({
    after: messageIdSchema.optional(),
    limit: z
      .number()
      .int()
      .min(1)
      .max(PROTOCOL_LIMITS.pollLimitMax)
      .default(PROTOCOL_LIMITS.pollLimitDefault),
    // No upper bound here: the relay clamps to its `maxWaitMs` (PROTOCOL §3).
    waitMs: z.number().int().nonnegative().optional(),
  })
  .default({ limit: PROTOCOL_LIMITS.pollLimitDefault });

export type PollInput = z.output<typeof pollInput>;

export const pollOutput = z.object({
  messages: z.array(storedMessage),
  cursor: messageIdSchema,
});
export type PollResult = z.infer<typeof pollOutput>;

export const statsOutput = z.object({
  agentId: agentIdSchema,
  count: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  oldestId: messageIdSchema.nullable(),
  newestId: messageIdSchema.nullable(),
  limits: limitsSchema,
});
export type MailboxStats = z.infer<typeof statsOutput>;

export const deleteInput = z.object({
  ids: z.array(messageIdSchema).min(1).max(PROTOCOL_LIMITS.deleteIdsMax),
});

export const deleteOutput = z.object({ deleted: z.number().int().nonnegative() });

/** `lastEventId` is declared because tRPC merges it into the input on reconnect (it wins over `after`). */
export const inboxInput = z
  .object({
    after: messageIdSchema.optional(),
    lastEventId: messageIdSchema.nullish(),
  })
  .default({});
export type InboxInput = z.output<typeof inboxInput>;
