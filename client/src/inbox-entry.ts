// What `pollAndDecrypt` hands back for each stored message: either an opened message with its
// verification verdict, or a typed error for one that cannot be used (never a thrown exception).
import type { InnerMessage, JsonValue, MessageGroup, OpenFailure } from '@deaddrop/contract';
import type { PinSource, SenderProblem } from './pins.js';

/** Why an opened message is not verified. */
export type MessageProblem = SenderProblem | 'stale';

/** Why a stored message yields no message at all. */
export type UnreadableReason = OpenFailure | 'replayed' | 'prekey-unknown';

interface ReceivedMessageFields {
  /** The relay's id ("<ms>-<seq>"), for `deleteMessages`. */
  readonly id: string;
  readonly from: string;
  readonly fromKey: string;
  readonly sentAt: number;
  /** Any JSON value; for a file (`contentType` set), its bytes as base64url — see `data`. */
  readonly body: JsonValue;
  readonly receivedAt: number;
  /** The sender's own message id (inside the envelope), for replies and de-duplication. */
  readonly uid: string;
  /**
   * Always `message` in what polls and live inboxes hand out: receipts become receipt events
   * (`onReceipt`, `receipts()`), never inbox entries.
   */
  readonly kind: InnerMessage['kind'];
  /** The MIME type of a file message; absent for JSON and text. */
  readonly contentType?: string;
  /** The file's name as the sender gave it: never a path to follow (PROTOCOL §6). */
  readonly filename?: string;
  /** A file message's bytes, decoded from `body`. */
  readonly data?: Uint8Array;
  /** The `uid` of the message this answers (the sender's claim). */
  readonly replyTo?: string;
  /** The `uid` of the thread's first message (the sender's claim). */
  readonly threadId?: string;
  /** The group this was sent to, members as the sender claims them (PROTOCOL §6, §8). */
  readonly group?: MessageGroup;
  /** The sender asked for a delivery receipt (sent for verified messages unless turned off). */
  readonly receiptRequested: boolean;
  /**
   * Sealed to a one-time prekey (envelope v2, PROTOCOL §10): its secret is deleted once this entry
   * is recorded as seen (before `pollAndDecrypt` returns it; after a live inbox's consumer took it),
   * so neither the seed nor any file left can open the ciphertext again.
   */
  readonly forwardSecret: boolean;
  /** The one-time prekey it was sealed to (its secret is deleted once the entry is committed). */
  readonly prekeyId?: string;
  readonly fromFingerprint: string;
  /** Where the pin `fromKey` was compared with came from; null when there is no pin. */
  readonly pinSource: PinSource | null;
}

export type ReceivedMessage = ReceivedMessageFields &
  (
    | { readonly verified: true; readonly reason?: undefined }
    | { readonly verified: false; readonly reason: MessageProblem }
  );

export interface UnreadableMessage {
  readonly id: string;
  readonly receivedAt: number;
  readonly error: UnreadableReason;
  /** A second copy's prekey, when its secret outlived the first (deleted at commit). */
  readonly prekeyId?: string;
}

/** The prekeys whose secrets the entries used: deleted once the entries are recorded as seen. */
export function usedPrekeyIds(entries: readonly InboxEntry[]): string[] {
  return entries.flatMap((entry) => (entry.prekeyId === undefined ? [] : [entry.prekeyId]));
}

export type InboxEntry = ReceivedMessage | UnreadableMessage;

export function isUnreadable(entry: InboxEntry): entry is UnreadableMessage {
  return 'error' in entry;
}

/** Human explanations of each reason, for CLIs and tool output. */
export const problemDescriptions: Readonly<Record<MessageProblem | UnreadableReason, string>> = {
  'key-mismatch': 'signed by a key that is not the one pinned for this sender',
  'unknown-sender': 'the sender is not registered in the relay directory',
  unpinned: 'no pinned key for this sender (strict mode)',
  'lookup-failed': 'the sender could not be looked up in the relay directory',
  stale: 'sent too long ago or in the future (clock or replay)',
  replayed: 'a copy of a message already received',
  'bad-encoding': 'not valid base64url',
  'bad-version': 'unknown envelope version',
  'too-short': 'too short to be an envelope',
  'decrypt-failed': 'cannot be decrypted with this identity',
  'bad-padding': 'malformed padding',
  'bad-inner': 'malformed message inside the envelope',
  'bad-sender-key': 'the sender key inside is malformed or weak',
  'bad-signature': 'the signature does not verify',
  'wrong-recipient': 'addressed to another agent',
  'prekey-unknown':
    'sealed to a one-time prekey whose secret this agent does not have (used already, or lost)',
};
