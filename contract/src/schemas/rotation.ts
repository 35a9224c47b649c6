// Wire shapes of key rotation (PROTOCOL §10): the `directory.rotate` input, one step of an agent's
// rotation history, and the directory record that carries that history.
import { z } from 'zod';
import { agentRecord } from './procedures.js';
import { agentIdSchema, agentKeySchema, signatureSchema, timestampSchema } from './primitives.js';

/** How many rotation steps a relay keeps per agent and a client follows at most. */
export const ROTATIONS_MAX = 16;

/** One rotation as the relay stored it: both keys and the two signatures over the statement. */
export const rotationStepSchema = z.object({
  oldKey: agentKeySchema,
  newKey: agentKeySchema,
  ts: timestampSchema,
  sigOld: signatureSchema,
  sigNew: signatureSchema,
});
export type RotationStep = z.infer<typeof rotationStepSchema>;

/** The old key is the one the directory holds; the relay fills it in, so it is not sent. */
export const rotateInput = z.object({
  agentId: agentIdSchema,
  newKey: agentKeySchema,
  ts: timestampSchema,
  sigOld: signatureSchema,
  sigNew: signatureSchema,
});
export type RotateInput = z.output<typeof rotateInput>;

/**
 * A directory answer: the agent record and its rotations, oldest first. A v1 relay leaves
 * `rotations` out, which reads as none.
 */
export const directoryRecord = agentRecord.extend({
  rotations: z.array(rotationStepSchema).max(ROTATIONS_MAX).default([]),
});
/** What a relay answers (rotations always present). */
export type DirectoryRecord = z.output<typeof directoryRecord>;
