// Field-level schemas shared by every procedure and by the envelope codec.
import { z } from 'zod';
import { fromB64u } from '../encoding/b64u.js';
import { parseAgentKey } from '../identity.js';

export const AGENT_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MESSAGE_ID_PATTERN = /^(0|[1-9][0-9]{0,15})-(0|[1-9][0-9]{0,15})$/;
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
export const RELAY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export const agentIdSchema = z
  .string()
  .regex(AGENT_ID_PATTERN, 'agent id must match ^[a-z0-9][a-z0-9._-]{0,63}$');

/** A stored message id, "<ms>-<seq>" as Redis stream ids are written. */
export const messageIdSchema = z
  .string()
  .max(33)
  .regex(MESSAGE_ID_PATTERN, 'message id must look like "<ms>-<seq>"');

export function b64uSchema(byteLength: number, what: string) {
  return z
    .string()
    .max(Math.ceil((byteLength * 4) / 3))
    .refine(
      (text) => fromB64u(text)?.length === byteLength,
      `${what} must be ${byteLength} bytes of canonical base64url`,
    );
}

/** The 16-byte random id inside a sealed message (not the relay's stream id). */
export const messageUidSchema = b64uSchema(16, 'message uid');
export const nonceSchema = b64uSchema(16, 'nonce');
export const signatureSchema = b64uSchema(64, 'signature');

/** An agent key that is well-formed and not weak (full curve checks; results are memoised). */
export const agentKeySchema = z
  .string()
  .max(91)
  .refine(
    (text) => parseAgentKey(text) !== null,
    'agent key must be ddk1_ + base64url(32-byte Ed25519 key || 32-byte X25519 key), canonical and not of small order',
  );

export const idempotencyKeySchema = z
  .string()
  .regex(IDEMPOTENCY_KEY_PATTERN, 'idempotencyKey must be 22–64 characters of [A-Za-z0-9_-]');

export const relayIdSchema = z.string().regex(RELAY_ID_PATTERN);

export const timestampSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
