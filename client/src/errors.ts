// Typed SDK errors: every failure a caller can meet carries a stable `reason` (a relay catalogue key
// or one of the client-side reasons below) and a one-line message a user can act on.
import type { RelayErrorReason } from '@deaddrop/contract';

export const clientErrorReasons = [
  /** The directory's key for a contact differs from the pinned one. */
  'KEY_CHANGED',
  /** Strict mode (`requireExplicitKeys`) and no explicit key for a first contact. */
  'NOT_PINNED',
  /** A key given explicitly differs from the relay directory's key for that agent. */
  'KEY_MISMATCH',
  /** A claimed one-time prekey malformed or not signed by the recipient's pinned key (PROTOCOL §10). */
  'PREKEY_INVALID',
  /** An agent key that is malformed or weak. */
  'INVALID_AGENT_KEY',
  'INVALID_AGENT_ID',
  'IDENTITY_EXISTS',
  'IDENTITY_NOT_FOUND',
  /** An identity or state file that cannot be parsed. */
  'IDENTITY_CORRUPT',
  /** A configuration value (flag or environment variable) that is invalid. */
  'INVALID_CONFIG',
  /** A message body that is not plain JSON, or nests too deep to send. */
  'INVALID_MESSAGE',
  'RELAY_UNREACHABLE',
  /** The relay answered, but not as a DeadDrop relay would (wrong URL, proxy page, bad data). */
  'RELAY_INVALID_RESPONSE',
  /** A relay error without a catalogue reason. */
  'RELAY_ERROR',
] as const;

export type ClientErrorReason = (typeof clientErrorReasons)[number];

/** `MESSAGE_TOO_LARGE` is both the relay's reason and the client's pre-send refusal. */
export type DeadDropErrorReason = RelayErrorReason | ClientErrorReason;

export interface DeadDropErrorOptions {
  readonly cause?: unknown;
  /** HTTP status of the relay's answer, when there was one. */
  readonly httpStatus?: number;
  readonly retryAfterMs?: number;
}

export class DeadDropError extends Error {
  override readonly name = 'DeadDropError';
  readonly reason: DeadDropErrorReason;
  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(reason: DeadDropErrorReason, message: string, options: DeadDropErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.httpStatus = options.httpStatus;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isDeadDropError(
  error: unknown,
  reason?: DeadDropErrorReason,
): error is DeadDropError {
  return error instanceof DeadDropError && (reason === undefined || error.reason === reason);
}
