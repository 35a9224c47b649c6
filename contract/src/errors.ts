import type { TRPC_ERROR_CODE_NUMBER } from '@trpc/server';

// The relay's error catalogue (ntfy-style): every failure a client can meet is one entry with a
// stable reason, the tRPC code (and so the HTTP status) and a message a user can act on.
// The contract stays free of @trpc/server at runtime, so codes are plain strings here and the relay
// maps them to TRPCError in one place.

export const relayErrors = {
  BAD_INPUT: { code: 'BAD_REQUEST', message: 'invalid input' },
  BAD_CIPHERTEXT: {
    code: 'BAD_REQUEST',
    message: 'ciphertext is not a DeadDrop envelope (v1 or v2)',
  },
  WEAK_AGENT_KEY: { code: 'BAD_REQUEST', message: 'agent key is malformed or weak' },
  AUTH_MISSING: {
    code: 'UNAUTHORIZED',
    message: 'mailbox calls need an `authorization: DeadDrop <proof>` header',
  },
  AUTH_MALFORMED: { code: 'UNAUTHORIZED', message: 'authorization proof is malformed' },
  AGENT_NOT_REGISTERED: {
    code: 'UNAUTHORIZED',
    message:
      'this relay does not know the agent (its store may have lost it): register the identity again (`deaddrop register <agent>`)',
  },
  AUTH_BAD_SIGNATURE: {
    code: 'UNAUTHORIZED',
    message: 'authorization signature does not verify for this agent on this relay',
  },
  AUTH_STALE: {
    code: 'UNAUTHORIZED',
    message: 'authorization timestamp is outside the relay’s window; check the clock',
  },
  AUTH_WRONG_SCOPE: {
    code: 'UNAUTHORIZED',
    message: 'authorization scope does not match the procedures called',
  },
  AUTH_REPLAYED: { code: 'UNAUTHORIZED', message: 'authorization nonce was already used' },
  API_KEY_INVALID: {
    code: 'UNAUTHORIZED',
    message:
      'this relay needs an access key and was given none it accepts: set DEADDROP_API_KEY to one its operator gave you (it travels as the x-deaddrop-api-key header)',
  },
  REGISTER_BAD_SIGNATURE: {
    code: 'UNAUTHORIZED',
    message: 'registration signature does not verify for this key on this relay',
  },
  REGISTER_STALE: {
    code: 'UNAUTHORIZED',
    message: 'registration timestamp is outside the relay’s window; check the clock',
  },
  ROTATE_BAD_SIGNATURE: {
    code: 'UNAUTHORIZED',
    message:
      'rotation signatures do not verify: sigOld must be by the current key, sigNew by the new key, for this relay',
  },
  ROTATE_STALE: {
    code: 'UNAUTHORIZED',
    message: 'rotation timestamp is outside the relay’s window; check the clock',
  },
  ROTATE_KEY_CHANGED: {
    code: 'CONFLICT',
    message: 'the agent’s key changed since the rotation was signed; look it up and sign again',
  },
  AGENT_ID_TAKEN: { code: 'CONFLICT', message: 'agent id is registered with another key' },
  AGENT_NOT_FOUND: { code: 'NOT_FOUND', message: 'no agent is registered under that id' },
  PREKEY_BAD_SIGNATURE: {
    code: 'BAD_REQUEST',
    message: 'prekey signature does not verify with the agent’s registered key',
  },
  PREKEY_WEAK_KEY: { code: 'BAD_REQUEST', message: 'prekey key is malformed or weak' },
  PREKEY_DUPLICATE: {
    code: 'BAD_REQUEST',
    message: 'prekey id or key is already held by the relay or repeats in this call',
  },
  PREKEYS_FULL: {
    code: 'BAD_REQUEST',
    message: 'the relay holds at most 200 prekeys per agent',
  },
  MESSAGE_TOO_LARGE: {
    code: 'PAYLOAD_TOO_LARGE',
    message: 'message is larger than the relay accepts',
  },
  IDEMPOTENCY_CONFLICT: {
    code: 'CONFLICT',
    message: 'idempotencyKey was already used for a different message',
  },
  MAILBOX_FULL: {
    code: 'TOO_MANY_REQUESTS',
    message: 'mailbox full: the recipient must read and delete mail before more can be delivered',
  },
  RATE_LIMITED: {
    code: 'TOO_MANY_REQUESTS',
    message: 'too many requests from your address; wait a little, then try again',
  },
  TOO_MANY_CONNECTIONS: {
    code: 'TOO_MANY_REQUESTS',
    message: 'too many live connections are open from this address; close one or retry later',
  },
  STORE_UNAVAILABLE: {
    code: 'SERVICE_UNAVAILABLE',
    message: 'the relay’s store is unavailable; retry shortly',
  },
  WEBHOOKS_OFF: {
    code: 'FORBIDDEN',
    message: 'this relay does not send webhooks (its operator set DEADDROP_WEBHOOKS=off)',
  },
  HOOK_URL_REFUSED: {
    code: 'BAD_REQUEST',
    message:
      'webhook URL refused: use https:// to a public host (http:// and private addresses only for hosts the operator allow-listed)',
  },
  UNKNOWN_PROCEDURE: {
    code: 'NOT_FOUND',
    message: 'this relay has no such procedure; check the relay URL and the client version',
  },
  METHOD_NOT_ALLOWED: {
    code: 'METHOD_NOT_SUPPORTED',
    message: 'this procedure is not called with that HTTP method (queries GET, mutations POST)',
  },
  INTERNAL: { code: 'INTERNAL_SERVER_ERROR', message: 'internal relay error' },
} as const satisfies Record<string, { code: string; message: string }>;

export type RelayErrorReason = keyof typeof relayErrors;

export function isRelayErrorReason(value: unknown): value is RelayErrorReason {
  return typeof value === 'string' && Object.hasOwn(relayErrors, value);
}

/** Data the relay attaches to every error response, beside tRPC's own code and status. */
export interface RelayErrorData {
  code: string;
  httpStatus: number;
  path?: string;
  reason: RelayErrorReason;
  retryAfterMs?: number;
}

/** The error shape every procedure answers with (the relay's tRPC error formatter). */
export interface RelayErrorShape {
  message: string;
  code: TRPC_ERROR_CODE_NUMBER;
  data: RelayErrorData;
}
