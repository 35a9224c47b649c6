// Inputs and outputs of every relay procedure (PROTOCOL §3).
import { z } from 'zod';
import { b64uDecodedLength, fromB64uByte0, isCanonicalB64u } from '../encoding/b64u.js';
import { ENVELOPE_VERSION, MIN_CIPHERTEXT_BYTES } from '../envelope.js';
import { ENVELOPE_V2_VERSION, MIN_CIPHERTEXT_V2_BYTES } from '../envelope-v2.js';
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

/** The protocol versions this contract speaks, oldest first (`info.protocol`). */
export const PROTOCOL_VERSIONS = ['v1', 'v1.1'] as const;

/** One protocol version a relay names in `info.protocol` (`"v1"`, `"v1.1"`, …). */
export const protocolVersionSchema = z.string().min(1).max(32);

export const infoOutput = z.object({
  relayId: relayIdSchema,
  version: z.string(),
  limits: limitsSchema,
  rateLimits: rateLimitsSchema,
  /**
   * The protocol versions the relay speaks. A relay that speaks only v1 leaves it out; versions
   * this contract does not know are kept, for a client to ignore.
   */
  protocol: z.array(protocolVersionSchema).max(32).optional(),
});
export type RelayInfo = z.infer<typeof infoOutput>;

/** Whether a relay whose `info` answered `info` speaks `version`; no `protocol` means v1 only. */
export function relaySpeaks(
  info: Pick<RelayInfo, 'protocol'>,
  version: (typeof PROTOCOL_VERSIONS)[number],
): boolean {
  return (info.protocol ?? ['v1']).includes(version);
}

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

/** The smallest envelope of each version the relay stores (v1 §2, v2 §10). */
const MIN_BYTES_BY_VERSION = new Map([
  [ENVELOPE_VERSION, MIN_CIPHERTEXT_BYTES],
  [ENVELOPE_V2_VERSION, MIN_CIPHERTEXT_V2_BYTES],
]);

/**
 * A sealed envelope as the relay sees it: canonical b64u, version byte 0x01 or 0x02, at least the
 * smallest possible envelope of that version. The size limit is the relay's configuration,
 * checked after this.
 */
export const ciphertextSchema = z.string().superRefine((text, ctx) => {
  if (!isCanonicalB64u(text)) {
    ctx.addIssue({
      code: 'custom',
      message: 'ciphertext must be canonical base64url without padding',
    });
    return;
  }
  const decoded = b64uDecodedLength(text);
  if (decoded < MIN_CIPHERTEXT_BYTES) {
    ctx.addIssue({
      code: 'custom',
      message: `ciphertext must decode to at least ${MIN_CIPHERTEXT_BYTES} bytes`,
    });
    return;
  }
  const least = MIN_BYTES_BY_VERSION.get(fromB64uByte0(text));
  if (least === undefined) {
    ctx.addIssue({ code: 'custom', message: 'ciphertext version byte must be 0x01 or 0x02' });
  } else if (decoded < least) {
    ctx.addIssue({
      code: 'custom',
      message: `a version 2 ciphertext must decode to at least ${least} bytes`,
    });
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

/** PROTOCOL §8: each item is exactly a `send` input; recipients are distinct. */
export const sendManyInput = z.object({
  items: z
    .array(sendInput)
    .min(1)
    .max(PROTOCOL_LIMITS.sendManyItemsMax)
    .superRefine((items, ctx) => {
      const seen = new Set<string>();
      for (const [index, item] of items.entries()) {
        if (seen.has(item.to))
          ctx.addIssue({
            code: 'custom',
            path: [index, 'to'],
            message: `recipient "${item.to}" appears more than once`,
          });
        seen.add(item.to);
      }
    }),
});
export type SendManyInput = z.output<typeof sendManyInput>;

/** One stored item: `send`'s answer, for recipient `to`. */
const sendManyStored = sendOutput.extend({
  to: agentIdSchema,
  ok: z.literal(true),
});

/**
 * One refused item: what `send` would have raised for it — the tRPC error `code`, the catalogue
 * `reason` (errors.ts) and the message. Bounded text rather than the catalogue's own lists, so a
 * client keeps reading the answers of a relay that added a reason.
 */
const sendManyRefused = z.object({
  to: agentIdSchema,
  ok: z.literal(false),
  code: z.string().regex(/^[A-Z_]{1,64}$/),
  reason: z.string().regex(/^[A-Z_]{1,64}$/),
  message: z.string().max(1000),
});

/** What became of one item of a group send: stored or refused, told apart by `ok`. */
export const sendManyItemResult = z.discriminatedUnion('ok', [sendManyStored, sendManyRefused]);
export type SendManyItemResult = z.infer<typeof sendManyItemResult>;

/** Results in the order of the request's items, one each (the SDK checks both). */
export const sendManyOutput = z.object({
  results: z.array(sendManyItemResult).max(PROTOCOL_LIMITS.sendManyItemsMax),
});
export type SendManyResult = z.infer<typeof sendManyOutput>;

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
  /** One-time prekeys the relay still holds (PROTOCOL §10); absent from relays older than v1.1. */
  prekeys: z.number().int().nonnegative().optional(),
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
