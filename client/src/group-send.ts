// The parts of a group send (PROTOCOL §8) that are not the client's own state: which recipients a
// request may name, how the sealed copies are split into `sendMany` calls the relay accepts, and
// how a refused item becomes that recipient's error.
import {
  GROUP_MEMBERS,
  PROTOCOL_LIMITS,
  groupSchema,
  isRelayErrorReason,
  type MessageGroup,
  type SealedMessage,
  type SendInput,
  type SendManyItemResult,
} from '@deaddrop/contract';
import type { GroupSendInput, SendMessageInput } from './client-types.js';
import { DeadDropError, type DeadDropErrorReason } from './errors.js';
import type { RecipientKey } from './recipient-key.js';
import { assertAgentId } from './validate-agent.js';

/** One recipient's copy, sealed to its key and ready for `send` or `sendMany`. */
export interface SealedItem {
  readonly request: SendInput & { readonly idempotencyKey: string };
  readonly recipient: RecipientKey;
  readonly sealed: SealedMessage;
  /** Sealed to a one-time prekey (v2) rather than the identity key. */
  readonly forwardSecret: boolean;
  /** Decoded ciphertext size, what the relay's batch limit counts. */
  readonly bytes: number;
}

export function isGroupInput(input: SendMessageInput | GroupSendInput): input is GroupSendInput {
  return typeof input.to !== 'string';
}

/** The group input as one recipient's send, for the checks every copy shares. */
export function asSingleInput(input: GroupSendInput, to: string): SendMessageInput {
  return { ...input, to };
}

/** The group to write: well formed, with the sender and every recipient among its members. */
export function checkedGroup(
  group: MessageGroup,
  self: string,
  recipients: readonly string[],
): MessageGroup {
  const parsed = groupSchema.safeParse(group);
  if (!parsed.success) {
    throw new DeadDropError(
      'INVALID_MESSAGE',
      `group: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  const missing = [self, ...recipients].find((id) => !parsed.data.members.includes(id));
  if (missing !== undefined) {
    throw new DeadDropError(
      'INVALID_MESSAGE',
      `group: "${missing}" writes or receives this message but is not one of its members`,
    );
  }
  return parsed.data;
}

/** The recipients, checked: 1–99 distinct agent ids, not the sender (the group's first member). */
export function groupRecipients(to: readonly unknown[], self: string): string[] {
  const most = GROUP_MEMBERS.max - 1;
  if (!Array.isArray(to) || to.length === 0 || to.length > most) {
    throw new DeadDropError(
      'INVALID_MESSAGE',
      `a group send names 1–${most} recipients (the group has at most ${GROUP_MEMBERS.max} members, you included)`,
    );
  }
  const seen = new Set<string>();
  for (const id of to) {
    if (typeof id !== 'string')
      throw new DeadDropError('INVALID_AGENT_ID', 'recipients are agent ids');
    assertAgentId(id);
    if (id === self) {
      throw new DeadDropError(
        'INVALID_MESSAGE',
        `"${id}" is you: a group send goes to the other members (you are in the group already)`,
      );
    }
    if (seen.has(id)) {
      throw new DeadDropError('INVALID_MESSAGE', `recipient "${id}" is named more than once`);
    }
    seen.add(id);
  }
  return [...seen];
}

/**
 * Consecutive runs of `items` that one `sendMany` takes: at most its item count, and decoded
 * ciphertexts adding up to at most `maxBatchBytes` (an item alone is never over it: each is at most
 * `maxMessageBytes`, and a relay's batch limit is at least that).
 */
export function sendManyChunks<T extends { readonly bytes: number }>(
  items: readonly T[],
  maxBatchBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const full =
      current.length === PROTOCOL_LIMITS.sendManyItemsMax || bytes + item.bytes > maxBatchBytes;
    if (full && current.length > 0) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A refused item as the error `send` would have thrown for it. */
export function refusedItemError(
  refused: Extract<SendManyItemResult, { ok: false }>,
  relayUrl: string,
): DeadDropError {
  const reason: DeadDropErrorReason = isRelayErrorReason(refused.reason)
    ? refused.reason
    : 'RELAY_ERROR';
  const message =
    refused.message.length > 0 ? refused.message : `the relay at ${relayUrl} refused it`;
  return new DeadDropError(reason, message);
}

/**
 * Errors that concern one recipient (its key, its registration, its size) rather than the relay:
 * a group send records them for that recipient and goes on with the others.
 */
export function isRecipientError(error: unknown): error is DeadDropError {
  return error instanceof DeadDropError && !RELAY_WIDE_REASONS.has(error.reason);
}

/** Failures of the relay or this client, not of one recipient: the group send stops on them. */
const RELAY_WIDE_REASONS: ReadonlySet<DeadDropErrorReason> = new Set<DeadDropErrorReason>([
  'RELAY_UNREACHABLE',
  'RELAY_INVALID_RESPONSE',
  'RELAY_ERROR',
  'STORE_UNAVAILABLE',
  'API_KEY_INVALID',
  'RATE_LIMITED',
  'INVALID_CONFIG',
  'IDENTITY_CORRUPT',
]);
