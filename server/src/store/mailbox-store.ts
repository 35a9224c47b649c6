// The one storage interface every driver implements (PROTOCOL §4). Handlers talk only to this; the
// conformance suite in server/test/store-conformance.ts runs against every driver.
import type { AgentRecord, DirectoryRecord, RotationStep, StoredMessage } from '@deaddrop/contract';
import type { BucketRate } from '../limits/token-bucket.js';

export interface StoreOptions {
  /** Messages older than this are never returned, never counted, and are removed. */
  readonly ttlSeconds: number;
  /** Quota of unexpired messages per mailbox: a send beyond it is refused, never trimmed. */
  readonly maxMessages: number;
}

export type RegisterOutcome =
  | { readonly status: 'created'; readonly record: AgentRecord }
  | { readonly status: 'existing'; readonly record: AgentRecord }
  | { readonly status: 'conflict'; readonly record: AgentRecord };

/** What recording a proof nonce found (see `MailboxStore.useNonce`). */
export type NonceOutcome = 'fresh' | 'replayed' | 'unknown-agent' | 'key-changed';

/**
 * What became of a rotation (PROTOCOL §10): done, no such agent, or the stored key is no longer
 * the step's old key (another rotation won the race, or the statement is a replay).
 */
export type RotateOutcome = 'rotated' | 'no-agent' | 'key-mismatch';

export interface AppendInput {
  readonly agentId: string;
  readonly ciphertext: string;
  /** Decoded ciphertext length, for `stats.bytes`. */
  readonly bytes: number;
  /** Always present: the relay makes a fresh one when the client gave none (PROTOCOL §3 send). */
  readonly idempotencyKey: string;
  /**
   * Tells a retry from a different message under one key: SHA-256 (hex) of the ciphertext for a
   * client's key; a fixed marker for a relay-made key, which only its own re-sent command can meet.
   * Any text (compared whole): the marker is not hex.
   */
  readonly ciphertextHash: string;
  /** Rate limits for this message, checked and spent in the same atomic step as the append. */
  readonly rate?: AppendRate | undefined;
}

/**
 * The per-mailbox rate limits of a send: one bucket for the mailbox, one for the mailbox and the
 * sending client's address. A refused, duplicate or failed send spends nothing.
 */
export interface AppendRate {
  /** The client address (normalised) the `sender` bucket belongs to. */
  readonly source: string;
  readonly mailbox: BucketRate;
  readonly sender: BucketRate;
}

export interface AppendedMessage {
  readonly id: string;
  readonly receivedAt: number;
  readonly expiresAt: number;
}

export type AppendOutcome =
  | ({
      readonly status: 'stored';
      /** The mailbox has a webhook that is not disabled (read in the same atomic step). */
      readonly hooked: boolean;
    } & AppendedMessage)
  | ({ readonly status: 'duplicate' } & AppendedMessage)
  | { readonly status: 'conflict' }
  | { readonly status: 'full'; readonly count: number }
  | {
      readonly status: 'rate-limited';
      readonly limit: 'mailbox' | 'sender';
      readonly retryAfterMs: number;
    }
  | { readonly status: 'no-mailbox' };

/** A mailbox's wake-up webhook as `hooks.set` stores it (PROTOCOL §9). */
export interface HookRecord {
  readonly url: string;
  /** The HMAC key of its notices: stored, never reported by `hooks.get`, never logged. */
  readonly secret: string;
  /** When it was set (ms); also tells one setting of a hook from the next. */
  readonly createdAt: number;
}

/** A stored hook with its delivery bookkeeping. */
export interface StoredHook extends HookRecord {
  readonly lastDeliveryAt: number | null;
  readonly lastStatus: number | null;
  /** Consecutive failed attempts since the last delivered notice. */
  readonly failures: number;
  readonly disabled: boolean;
}

/** How one notice attempt ended, recorded against the hook it was sent for. */
export interface HookDelivery {
  /** The `createdAt` of the hook the notice was sent for: a hook set since is left alone. */
  readonly createdAt: number;
  readonly at: number;
  /** The receiver's HTTP status; null for a network error, a timeout or a refused address. */
  readonly status: number | null;
  readonly delivered: boolean;
  /** After this many consecutive failures the hook is disabled. */
  readonly failureCap: number;
}

/** A driver's own answer to its atomic append step: the outcome, and what makes a FreshMessage. */
export interface AppendStep {
  readonly outcome: AppendOutcome;
  /** For a stored message: the newest unexpired id before it, `"0-0"` for none. */
  readonly after?: string;
}

/** A one-time prekey as published (PROTOCOL §10), checked by the relay before it is stored. */
export interface StoredPrekey {
  readonly id: string;
  readonly key: string;
  readonly sig: string;
}

/**
 * How a publish ended; all or nothing. `full`: the agent would hold more than `max` (`total` is how
 * many it holds now); `duplicate`: `id` (or its key) is held already or repeats within the call;
 * `no-agent`: the store holds no such agent; `key-changed`: it holds the agent under another key
 * than the one the prekeys were verified with (a rotation ran since).
 */
export type PublishPrekeysOutcome =
  | { readonly status: 'stored'; readonly stored: number; readonly total: number }
  | { readonly status: 'full'; readonly total: number }
  | { readonly status: 'duplicate'; readonly id: string }
  | { readonly status: 'no-agent' }
  | { readonly status: 'key-changed' };

/** The oldest prekey, removed (null when none was left), and how many remain. */
export interface ClaimedPrekey {
  readonly prekey: StoredPrekey | null;
  readonly remaining: number;
}

export interface MailboxCounts {
  readonly count: number;
  readonly bytes: number;
  readonly oldestId: string | null;
  readonly newestId: string | null;
}

/**
 * A message this store instance just appended, with the newest unexpired id before it (`"0-0"` for
 * none) at that moment: a reader whose cursor is at or past `after` has nothing else to read up to
 * `message.id`, so it may take `message` without a read.
 */
export interface FreshMessage {
  readonly after: string;
  readonly message: StoredMessage;
}

/**
 * Called when a mailbox may have new messages; listeners then read from their own cursor. An
 * append made through this same store instance comes with the message (`fresh`), which spares the
 * listener that read when the message follows its cursor directly.
 */
export type WakeListener = (fresh?: FreshMessage) => void;

export interface MailboxStore {
  readonly kind: 'redis' | 'embedded';

  /** The relay id stored for this store, set to `candidate` when none is stored yet. */
  ensureRelayId(candidate: string): Promise<string>;

  register(record: AgentRecord): Promise<RegisterOutcome>;
  /** The agent's record with its rotations, oldest first (`[]` when none). */
  lookup(agentId: string): Promise<DirectoryRecord | null>;
  /**
   * One atomic compare-and-set: only while the stored key is `step.oldKey`, the key becomes
   * `step.newKey` and the step is appended to the history (the last ROTATIONS_MAX kept).
   */
  rotate(agentId: string, step: RotationStep): Promise<RotateOutcome>;

  /** One atomic step: mailbox exists → idempotency → quota over unexpired messages → append → notify. */
  append(input: AppendInput): Promise<AppendOutcome>;
  /** Unexpired messages with id strictly after `after` ("0-0" for all), oldest first. */
  read(agentId: string, after: string, limit: number): Promise<StoredMessage[]>;
  counts(agentId: string): Promise<MailboxCounts>;
  /** Deletes the listed ids; returns how many existed. */
  delete(agentId: string, ids: readonly string[]): Promise<number>;

  /** Sets (replaces) the mailbox's webhook, its bookkeeping reset; false when no such agent. */
  setHook(agentId: string, hook: HookRecord): Promise<boolean>;
  getHook(agentId: string): Promise<StoredHook | null>;
  /** Removes the mailbox's webhook; false when it had none. */
  clearHook(agentId: string): Promise<boolean>;
  /**
   * Records one notice attempt on the hook it was sent for (same `createdAt`; else nothing): a
   * delivery resets `failures`, a failure adds one and disables the hook at the cap. Returns the
   * hook after the update, or null when it is gone or was set again since.
   */
  recordHookDelivery(agentId: string, delivery: HookDelivery): Promise<StoredHook | null>;

  /**
   * Adds `prekeys` after the agent's others in one atomic step, only while the store holds the
   * agent under `agentKey` (the key the relay verified them with: a rotation in between deleted
   * the held prekeys and must not see its old key's come back), unless one of them (id or key) is
   * held already or repeats, or the agent would then hold more than `max`.
   */
  publishPrekeys(
    agentId: string,
    prekeys: readonly StoredPrekey[],
    max: number,
    agentKey: string,
  ): Promise<PublishPrekeysOutcome>;
  /**
   * Removes and returns the agent's oldest prekey atomically: no prekey is ever returned twice.
   * Null when the store holds no such agent, whatever a relay process has cached.
   */
  claimPrekey(agentId: string): Promise<ClaimedPrekey | null>;
  /** How many prekeys the agent holds. */
  prekeyCount(agentId: string): Promise<number>;

  /**
   * Takes `cost` tokens from the rate-limit bucket `name` of `scope` (a client address), shared by
   * every relay process on this store: 0 when taken, else the ms until there are enough (nothing
   * is taken then).
   */
  takeTokens(scope: string, name: string, rate: BucketRate, cost?: number): Promise<number>;

  /**
   * Records a proof nonce, in one atomic step with checking that the directory still holds
   * `agentId` under `agentKey` (the key the proof was verified with): the store is the authority on
   * who exists and with which key, whatever a relay process has cached (PROTOCOL §10
   * "Re-registration"). 'fresh': recorded; 'replayed': the agent already used it; 'unknown-agent' /
   * 'key-changed': nothing recorded. Kept for `keepForMs` from when the store runs the command,
   * measured by the store's own clock: a duration, not an instant, so no relay process's clock is
   * read against another's (the caller works out the span, see mailbox-auth.ts).
   */
  useNonce(
    agentId: string,
    nonce: string,
    keepForMs: number,
    agentKey: string,
  ): Promise<NonceOutcome>;

  /** Removes expired messages from every mailbox (idle ones included); returns how many. */
  sweepExpired(): Promise<number>;

  /**
   * Wake-ups for one mailbox. The listener is called once as soon as wake-ups are live (soon after
   * `watch` returns, never inside it), so a message stored between a caller's first read and that
   * moment is not missed; then whenever the mailbox may have new messages. Calls may be spurious:
   * listeners re-read from their cursor, and must not throw. After this instance stored a message,
   * its listeners are called with it (see FreshMessage), once per message; a notification about a
   * message they were already given is dropped. Returns the function that stops them.
   */
  watch(agentId: string, listener: WakeListener): () => void;

  /** Reachability, for readiness checks. Resolves when the store answers. */
  ping(): Promise<void>;
  /** Why the store could not be reached lately, for a person (no secrets), if it knows. */
  unreachableBecause?(): string | undefined;
  close(): Promise<void>;
}

/** Thrown by drivers when the backing service cannot be reached; the relay maps it to 503. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/**
 * Orders `"<ms>-<seq>"` ids numerically, as Redis orders stream ids. Parts have no leading zeros
 * (the contract's id pattern), so comparing lengths, then text, is exact beyond 2^53.
 */
export function compareMessageIds(a: string, b: string): number {
  const [aMs = '', aSeq = ''] = a.split('-');
  const [bMs = '', bSeq = ''] = b.split('-');
  return compareDecimal(aMs, bMs) || compareDecimal(aSeq, bSeq);
}

function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
