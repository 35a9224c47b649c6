// Inputs and outputs of `directory.publishPrekeys` and `directory.claimPrekey` (PROTOCOL §10).
import { z } from 'zod';
import { agentIdSchema, b64uSchema, signatureSchema } from './primitives.js';

/** Most prekeys one `publishPrekeys` call carries. */
export const PUBLISH_PREKEYS_MAX = 100;
/** Most prekeys a relay holds for one agent. */
export const PREKEYS_HELD_MAX = 200;

/**
 * A prekey's shape; whether its key is strong and its signature the directory key's is the
 * relay's check (it needs the directory record), as it is the sender's against its pin.
 */
const prekeySchema = z.object({
  id: b64uSchema(8, 'prekey id'),
  key: b64uSchema(32, 'prekey key'),
  sig: signatureSchema,
});

export const publishPrekeysInput = z.object({
  prekeys: z.array(prekeySchema).min(1).max(PUBLISH_PREKEYS_MAX),
});
export type PublishPrekeysInput = z.output<typeof publishPrekeysInput>;

export const publishPrekeysOutput = z.object({
  /** How many this call added. */
  stored: z.number().int().nonnegative(),
  /** How many the relay now holds for the agent. */
  total: z.number().int().nonnegative(),
});
export type PublishPrekeysResult = z.infer<typeof publishPrekeysOutput>;

export const claimPrekeyInput = z.object({ agentId: agentIdSchema });

export const claimPrekeyOutput = z.object({
  /** The oldest prekey, now removed from the relay; null when none is left. */
  prekey: prekeySchema.nullable(),
  /** How many are left after this claim. */
  remaining: z.number().int().nonnegative(),
});
export type ClaimPrekeyResult = z.infer<typeof claimPrekeyOutput>;
