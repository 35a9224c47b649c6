// The option and result types of DeadDropClient, apart so the class file holds behaviour only.
import type { AgentRecord, JsonValue, MessageGroup, infoOutput } from '@deaddrop/contract';
import type { z } from 'zod';
import type { DeadDropError } from './errors.js';
import type { InboxEntry, ReceivedMessage } from './inbox-entry.js';
import type { Identity } from './keystore.js';
import type { LiveConnectionEvent } from './live/follow-inbox.js';
import type { LiveTransport, SseAuthPlacement } from './live/live-connection.js';
import type { Pin, PinSource } from './pins.js';
import type { ReceiptEvent } from './receipts/receipt-event.js';
import type { SendRetryPolicy } from './send-retry.js';

export type RelayInfo = z.output<typeof infoOutput>;

export interface DeadDropClientOptions {
  readonly identity: Identity;
  /** Defaults to the identity's `relayUrl` (`DeadDropClient.open` also honours the environment). */
  readonly relayUrl?: string | undefined;
  /** The relay access key, when the relay requires one. */
  readonly apiKey?: string | undefined;
  /** Strict mode: first contact (sending or receiving) needs a key given explicitly. */
  readonly requireExplicitKeys?: boolean | undefined;
  readonly fetch?: typeof fetch;
  /**
   * How `sendMessage` retries when the relay cannot be reached, does not answer in time, or
   * answers 503 (its store is unavailable): the same request with the same idempotency key, so
   * the message is stored once. Defaults: 5 attempts, backoff from 500 ms doubling to at most
   * 8 s with jitter (or the relay's `retryAfterMs`), 10 s per attempt, 30 s in all. `onRetry`
   * hears of each retry before its wait, to show progress.
   */
  readonly sendRetry?: SendRetryPolicy | undefined;
  /**
   * The oldest a message may be and still be verified, in ms (default 7 days; `DeadDropClient.open`
   * reads DEADDROP_MAX_MESSAGE_AGE). The relay's TTL claim can shorten this window, never widen it.
   */
  readonly maxMessageAgeMs?: number | undefined;
  /**
   * How long a relay call may take before it fails with RELAY_UNREACHABLE, in ms (default 30 s;
   * a long-poll gets its wait on top; `open` reads DEADDROP_REQUEST_TIMEOUT).
   */
  readonly requestTimeoutMs?: number | undefined;
  /** The largest relay answer accepted, in bytes (default 256 MiB; the built-in fetch only). */
  readonly maxResponseBytes?: number | undefined;
  /**
   * How long a live inbox over SSE may hear nothing, not even a ping, before it reconnects, in ms
   * (default 120 s; the relay pings every 15 s).
   */
  readonly liveIdleTimeoutMs?: number | undefined;
  /** Clock for freshness checks, pins and the replay cache. */
  readonly now?: () => number;
  /**
   * Send delivery receipts for verified messages that ask for one (PROTOCOL §7; default true;
   * `DeadDropClient.open` reads DEADDROP_RECEIPTS=off). Receiving receipts is not affected.
   */
  readonly receipts?: boolean | undefined;
  /** Each receipt event that arrives, from any poll or live inbox of this client. */
  readonly onReceipt?: ((event: ReceiptEvent) => void) | undefined;
  /**
   * A receipt this client owed could not be sent (relay unreachable, key changed, …). The message
   * it acknowledges was delivered all the same; without this hook the failure is printed as a
   * process warning.
   */
  readonly onReceiptError?: ((error: unknown, owed: OwedReceipt) => void) | undefined;
}

/** A receipt this client owes: the inner ids of `to`'s messages it acknowledges. */
export interface OwedReceipt {
  readonly to: string;
  readonly of: readonly string[];
}

export interface OpenClientOptions extends Omit<DeadDropClientOptions, 'identity'> {
  /** Defaults to `DEADDROP_HOME`, else `~/.deaddrop`. */
  readonly home?: string | undefined;
}

export interface RegisteredAgent extends AgentRecord {
  readonly fingerprint: string;
  /** One-time prekeys the relay holds for this agent after registering (absent: none published). */
  readonly prekeys?: number;
}

export interface DirectoryEntry extends AgentRecord {
  readonly fingerprint: string;
  /** This client's pin for the agent, if any. */
  readonly pin: Pin | null;
  readonly pinStatus: 'unpinned' | 'matches' | 'differs';
}

interface SendMessageFields {
  readonly to: string;
  /** The recipient's agent key, given out of band: pinned as `explicit`, replacing any pin. */
  readonly recipientKey?: string | undefined;
  /** The `uid` of the message this one answers (`reply()` sets it for you). */
  readonly replyTo?: string | undefined;
  /** The `uid` of the thread's first message (`reply()` sets it for you). */
  readonly threadId?: string | undefined;
  /** Ask the recipient's client for a delivery receipt (PROTOCOL §7). */
  readonly receipt?: boolean | undefined;
  /** Accept (and pin) a directory key that differs from the pinned one. */
  readonly acceptNewKey?: boolean | undefined;
  /**
   * Pin `recipientKey` even though the relay's directory holds another key for `to` (without it,
   * such a key is refused with `KEY_MISMATCH`: usually someone else's key pasted by mistake).
   */
  readonly acceptKey?: boolean | undefined;
}

/** Any JSON value; a string for plain text. */
export interface JsonContent {
  readonly message: JsonValue;
  readonly bytes?: never;
  readonly contentType?: never;
  readonly filename?: never;
}

/** Raw bytes of a MIME type (a file, an image), sent as such (PROTOCOL §6). */
export interface FileContent {
  readonly bytes: Uint8Array;
  /** A MIME type, `type/subtype` with optional parameters, at most 127 characters. */
  readonly contentType: string;
  /** A bare name (no `/`, `\`, NUL; not `.` or `..`), at most 255 UTF-8 bytes. */
  readonly filename?: string | undefined;
  readonly message?: never;
}

/** Exactly one body: `message` (JSON or text) or `bytes` with a `contentType`. */
export type SendMessageInput = SendMessageFields & (JsonContent | FileContent);

/**
 * A group send (PROTOCOL §8): the same body sealed separately to each recipient (1–99, distinct,
 * not yourself), every copy carrying one `group` object naming all members so each can reply to
 * all. An explicit key cannot be given for a group; first contact pins each recipient.
 */
export type GroupSendInput = Omit<SendMessageFields, 'to' | 'recipientKey'> & {
  readonly to: readonly string[];
  /** The group to write in (reply-all keeps the group answered); a new one when omitted. */
  readonly group?: MessageGroup | undefined;
} & (JsonContent | FileContent);

/** What became of one recipient's copy: sent, or the error for that recipient alone. */
export type GroupSendResult =
  | { readonly to: string; readonly ok: true; readonly sent: SentMessage }
  | { readonly to: string; readonly ok: false; readonly error: DeadDropError };

export interface GroupSent {
  /** The `group.id` in every copy. */
  readonly groupId: string;
  /** The sender first, then the recipients. */
  readonly members: readonly string[];
  /** One per recipient, in the order given. */
  readonly results: readonly GroupSendResult[];
}

/** What `reply()` and `replyAll()` need of the message answered: a ReceivedMessage is one. */
export type ReplyTarget = Pick<ReceivedMessage, 'uid' | 'from' | 'threadId' | 'group'>;

/** `reply()`'s options: the recipient and thread come from the message answered. */
export type ReplyOptions = Omit<SendMessageFields, 'to' | 'replyTo' | 'threadId'>;

/** What fits in one message on this relay, in plaintext terms (PROTOCOL §2, §6). */
export interface MessageLimits {
  /** The relay's limit on a sealed message (decoded ciphertext bytes). */
  readonly maxMessageBytes: number;
  /** The most bytes of file data one message carries (content type application/octet-stream). */
  readonly fileBytes: number;
  /**
   * The most UTF-8 bytes of text, if none of it needs escaping in JSON (`"`, `\` and control
   * characters take two or six bytes each).
   */
  readonly textBytes: number;
}

export interface SentMessage {
  /** The relay's id for the stored message. */
  readonly id: string;
  /** The message's own id (inside the envelope). */
  readonly uid: string;
  readonly to: string;
  readonly recipientKey: string;
  readonly recipientFingerprint: string;
  /** Where the key the message was sealed to came from. */
  readonly pinSource: PinSource;
  /** `new`: first contact pinned now; `replaced`: an accepted key change. */
  readonly pinChange: 'none' | 'new' | 'replaced';
  /**
   * Sealed to one of the recipient's one-time prekeys (envelope v2, PROTOCOL §10): once read, no
   * key left anywhere opens it. False: sealed to the recipient's identity key (v1) because the
   * relay had no prekey left for them, limits claims, or predates prekeys — or it was to yourself.
   */
  readonly forwardSecret: boolean;
  /** Decoded ciphertext size. */
  readonly bytes: number;
  /** The `sentAt` inside the envelope (the sender's clock). */
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly expiresAt: number;
  readonly duplicate: boolean;
}

export interface PollOptions {
  /** Relay id to read after; from the start of the mailbox when omitted. */
  readonly after?: string | undefined;
  readonly limit?: number | undefined;
  /** Long-poll: hold the request until a message arrives or this passes (clamped by the relay). */
  readonly waitMs?: number | undefined;
}

export interface PollAndDecryptOptions {
  /** Wait up to this long for a first message; 0 or omitted returns at once. */
  readonly timeoutMs?: number | undefined;
  /** At most this many messages (1–100, default 50). */
  readonly limit?: number | undefined;
}

export interface InboxOptions {
  /** `sse` (default): Server-Sent Events over HTTP; `ws`: a WebSocket on the relay's port. */
  readonly transport?: LiveTransport | undefined;
  /**
   * SSE only. `header` (default) signs a fresh proof into the `authorization` header of every
   * connection attempt; `connectionParams` puts it in the URL, as clients that cannot set headers
   * must, and restarts the subscription with a new proof whenever a reconnect is refused.
   */
  readonly authIn?: SseAuthPlacement | undefined;
  /**
   * Start after this relay id instead of the saved cursor. The saved cursor never moves back, and
   * ids in the replay cache are still dropped as replays.
   */
  readonly after?: string | undefined;
  /** Ends the inbox: the iterator returns (no error), a subscription closes. */
  readonly signal?: AbortSignal | undefined;
  /** `connected` each time a connection starts streaming, `reconnecting` with why one was lost. */
  readonly onConnection?: ((event: LiveConnectionEvent) => void) | undefined;
}

export interface SubscribeOptions extends InboxOptions {
  /**
   * Each entry in order; the next waits until this returns (or its promise settles). A throw ends
   * the subscription, and that entry is not counted as delivered: the next run gets it again.
   */
  readonly onMessage: (entry: InboxEntry) => void | Promise<void>;
  /** The error that ended the subscription: a refusal no retry can fix, or `onMessage`'s throw. */
  readonly onError?: ((error: unknown) => void) | undefined;
  /** Each receipt event this subscription reads (the client's `onReceipt` hears them too). */
  readonly onReceipt?: ((event: ReceiptEvent) => void) | undefined;
}

export interface InboxSubscription {
  /** Closes the connection. Entries already delivered are saved before `closed` settles. */
  unsubscribe(): void;
  /**
   * Settles once the subscription has ended and the state file is saved; rejects with the error
   * that ended it unless `onError` was given.
   */
  readonly closed: Promise<void>;
}

/** A hook as `setHook` set it: the relay's answer and the secret notices are signed with. */
export interface HookSetting {
  readonly url: string;
  readonly createdAt: number;
  /** Keep it where the receiving function can read it; the relay never reports it again. */
  readonly secret: string;
}
