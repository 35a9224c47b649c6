// The mailbox API: register, look up, send sealed messages to pinned keys, and poll (or follow live),
// open and verify incoming ones, with the cursor and replay cache kept in the agent's state file.
import {
  MAX_BODY_DEPTH,
  PROTOCOL_LIMITS,
  fingerprint,
  isJsonValue,
  parseAgentKey,
  randomBytes,
  sealMessage,
  signRegistration,
  toB64u,
  type AgentPublicKey,
  type AgentRecord,
  type MailboxStats,
  type PollResult,
  type StoredMessage,
} from '@deaddrop/contract';
import type {
  DeadDropClientOptions,
  DirectoryEntry,
  InboxOptions,
  InboxSubscription,
  OpenClientOptions,
  PollAndDecryptOptions,
  PollOptions,
  RegisteredAgent,
  RelayInfo,
  SendMessageInput,
  SentMessage,
  SubscribeOptions,
} from './client-types.js';
import { readClientEnv } from './env.js';
import { DeadDropError, isDeadDropError } from './errors.js';
import { DEFAULT_MAX_MESSAGE_AGE_MS, freshnessWindowMs } from './freshness.js';
import { isUnreadable, type InboxEntry } from './inbox-entry.js';
import { loadIdentity, savePin, type Identity } from './keystore.js';
import { DEFAULT_MAX_IDLE_MS } from './live/event-stream-guard.js';
import { openLiveConnection } from './live/live-connection.js';
import { readLiveInbox, subscribeToInbox, type LiveInboxSource } from './live/live-inbox.js';
import { loadMailboxState, saveMailboxState, type MailboxState } from './mailbox-state.js';
import type { Pin, Pins } from './pins.js';
import { readStoredMessage, type SenderPin } from './read-stored-message.js';
import { resolveRecipientKey, type RecipientKey } from './recipient-key.js';
import { toDeadDropError } from './relay-error.js';
import { ReplayCache } from './replay-cache.js';
import { normalizeRelayUrl, resolveRelayUrl } from './relay-url.js';
import {
  resolveSendRetryPolicy,
  withSendRetry,
  type ResolvedSendRetryPolicy,
  type RetriedAttempt,
} from './send-retry.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, createRelayTransport, type RelayClient } from './transport.js';
import { assertAgentId, requireAgentKey } from './validate-agent.js';

/** Runs an attempt under one `sendMessage` call's retry policy and deadline. */
type Retrying = <T>(attempt: RetriedAttempt<T>) => Promise<T>;

export class DeadDropClient {
  readonly identity: Identity;
  readonly relayUrl: string;
  /** The typed tRPC client underneath, for calls this class does not wrap. */
  readonly relay: RelayClient;
  readonly #requireExplicitKeys: boolean;
  readonly #now: () => number;
  readonly #apiKey: string | undefined;
  readonly #fetch: typeof fetch | undefined;
  readonly #sendRetry: ResolvedSendRetryPolicy;
  readonly #maxMessageAgeMs: number;
  readonly #requestTimeoutMs: number;
  readonly #liveIdleTimeoutMs: number;
  #pins: Pins;
  #info: Promise<RelayInfo> | undefined;
  /**
   * The replay cache every reader of this client judges against (polls and live inboxes at once):
   * one object, so a message one reader took is a replay to all the others at once, not only after
   * the state file has been written. Filled from the file on each read of it, written to it on
   * each save.
   */
  readonly #seen = new ReplayCache();
  /** Serialises state-file reads and writes so concurrent inbox readers cannot interleave them. */
  #inboxTurn: Promise<unknown> = Promise.resolve();

  /** Loads an identity and resolves the relay URL per PROTOCOL §1 (option, env, identity file). */
  static async open(agentId: string, options: OpenClientOptions = {}): Promise<DeadDropClient> {
    const env = readClientEnv();
    const identity = await loadIdentity(agentId, { home: options.home });
    return new DeadDropClient({
      ...options,
      identity,
      relayUrl: resolveRelayUrl({
        flag: options.relayUrl,
        env: env.serverUrl,
        identity: identity.relayUrl,
      }),
      apiKey: options.apiKey ?? env.apiKey,
      maxMessageAgeMs: options.maxMessageAgeMs ?? env.maxMessageAgeMs,
      requestTimeoutMs: options.requestTimeoutMs ?? env.requestTimeoutMs,
    });
  }

  constructor(options: DeadDropClientOptions) {
    this.identity = options.identity;
    this.relayUrl = normalizeRelayUrl(options.relayUrl ?? options.identity.relayUrl, 'relayUrl');
    this.#requireExplicitKeys = options.requireExplicitKeys ?? false;
    this.#now = options.now ?? Date.now;
    this.#pins = options.identity.pins;
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch;
    this.#sendRetry = resolveSendRetryPolicy(options.sendRetry);
    this.#maxMessageAgeMs = positiveOption(
      'maxMessageAgeMs',
      options.maxMessageAgeMs,
      DEFAULT_MAX_MESSAGE_AGE_MS,
    );
    this.#requestTimeoutMs = positiveOption(
      'requestTimeoutMs',
      options.requestTimeoutMs,
      DEFAULT_REQUEST_TIMEOUT_MS,
    );
    this.#liveIdleTimeoutMs = positiveOption(
      'liveIdleTimeoutMs',
      options.liveIdleTimeoutMs,
      DEFAULT_MAX_IDLE_MS,
    );
    this.relay = createRelayTransport({
      relayUrl: this.relayUrl,
      apiKey: options.apiKey,
      timeoutMs: this.#requestTimeoutMs,
      ...(options.maxResponseBytes === undefined
        ? {}
        : { maxResponseBytes: options.maxResponseBytes }),
      signer: { agentId: options.identity.agentId, keys: options.identity.keys },
      relayId: async () => (await this.info()).relayId,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
  }

  get agentId(): string {
    return this.identity.agentId;
  }

  get agentKey(): string {
    return this.identity.agentKey;
  }

  get fingerprint(): string {
    return this.identity.fingerprint;
  }

  /** The relay's id, version and limits; fetched once, then cached. */
  info(): Promise<RelayInfo> {
    this.#info ??= this.#call((relay) => relay.info.query()).catch((error: unknown) => {
      this.#info = undefined;
      throw error;
    });
    return this.#info;
  }

  /** Claims this identity's agent id on the relay (idempotent for the same key). */
  async register(): Promise<RegisteredAgent> {
    const { relayId } = await this.info();
    const registration = signRegistration({
      relayId,
      agentId: this.agentId,
      keys: this.identity.keys,
    });
    let record: AgentRecord;
    try {
      record = await this.#call((relay) => relay.directory.register.mutate(registration));
    } catch (error) {
      if (isDeadDropError(error, 'AGENT_ID_TAKEN')) {
        throw new DeadDropError(
          'AGENT_ID_TAKEN',
          `agent id "${this.agentId}" is already registered on ${this.relayUrl} with another key; pick another id`,
          { cause: error },
        );
      }
      throw error;
    }
    if (record.agentId !== this.agentId || record.agentKey !== this.agentKey) {
      throw this.#invalidResponse('its registration answer names another agent or key');
    }
    return { ...record, fingerprint: this.fingerprint };
  }

  /** The directory's key for `agentId`, compared with this client's pin. Does not pin. */
  async lookup(agentId: string): Promise<DirectoryEntry> {
    const { record, key } = await this.#lookupRecord(agentId);
    const pin = this.#pins.get(agentId) ?? null;
    const pinStatus =
      pin === null ? 'unpinned' : pin.key === record.agentKey ? 'matches' : 'differs';
    return { ...record, fingerprint: fingerprint(key), pin, pinStatus };
  }

  /** Pins a key given out of band (source `explicit`), replacing any pin for `agentId`. */
  async pin(agentId: string, agentKey: string): Promise<Pin> {
    assertAgentId(agentId);
    requireAgentKey(agentKey, `the key given for "${agentId}"`);
    const pin: Pin = { key: agentKey, source: 'explicit', pinnedAt: this.#now() };
    await this.#savePin(agentId, pin);
    return pin;
  }

  /** This identity's pins, as last read or written (a copy). */
  pins(): Pins {
    return new Map(this.#pins);
  }

  /**
   * Seals `message` to the recipient's pinned (or given) key and sends it. Calls that fail because
   * the relay cannot be reached, does not answer or has no store are retried per `sendRetry`, the
   * send with the same idempotency key: the message is stored once however often it is sent.
   */
  async sendMessage(input: SendMessageInput): Promise<SentMessage> {
    assertAgentId(input.to);
    if (!isJsonValue(input.message, MAX_BODY_DEPTH)) {
      throw new DeadDropError(
        'INVALID_MESSAGE',
        `a message must be plain JSON (strings, finite numbers, booleans, null, arrays, plain objects; no cycles) nesting at most ${MAX_BODY_DEPTH} levels deep`,
      );
    }
    const run = {
      deadline: Date.now() + this.#sendRetry.totalTimeoutMs,
      policy: this.#sendRetry,
      relayUrl: this.relayUrl,
    };
    const retrying: Retrying = (attempt) => withSendRetry(run, attempt);
    const info = await retrying(() => this.info());
    const recipient = await this.#resolveRecipient(input, retrying);
    const sealed = sealMessage({
      from: this.agentId,
      sender: this.identity.keys,
      to: input.to,
      recipient: recipient.key,
      body: input.message,
      ...(input.replyTo === undefined ? {} : { replyTo: input.replyTo }),
    });
    const limit = info.limits.maxMessageBytes;
    if (sealed.bytes > limit) {
      throw new DeadDropError(
        'MESSAGE_TOO_LARGE',
        `message too large: sealed it is ${sealed.bytes} bytes, the relay at ${this.relayUrl} accepts at most ${limit}; send less`,
      );
    }
    if (recipient.pinChange !== 'none') await this.#savePin(input.to, recipient.pin);
    const request = {
      to: input.to,
      ciphertext: sealed.ciphertext,
      idempotencyKey: toB64u(randomBytes(16)),
    };
    const sent = await retrying((signal) =>
      this.#call((relay) => relay.send.mutate(request, { signal })),
    );
    return {
      id: sent.id,
      uid: sealed.id,
      to: input.to,
      recipientKey: recipient.pin.key,
      recipientFingerprint: fingerprint(recipient.key),
      pinSource: recipient.pin.source,
      pinChange: recipient.pinChange,
      bytes: sealed.bytes,
      receivedAt: sent.receivedAt,
      expiresAt: sent.expiresAt,
      duplicate: sent.duplicate,
    };
  }

  /** Raw stored messages after `after` (no decryption, no state). */
  poll(options: PollOptions = {}): Promise<PollResult> {
    const input = {
      ...(options.after === undefined ? {} : { after: options.after }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.waitMs === undefined ? {} : { waitMs: options.waitMs }),
    };
    // A long-poll's deadline is its wait plus the request timeout (checked-answers-link.ts).
    return this.#call((relay) => relay.poll.query(input));
  }

  /**
   * Messages after the saved cursor, opened and verified. One entry per stored message: a
   * `ReceivedMessage`, or `{ id, error }` for one that cannot be opened or is a replay. The cursor
   * and the replay cache are saved before returning. Calls on one client run one after another.
   */
  pollAndDecrypt(options: PollAndDecryptOptions = {}): Promise<InboxEntry[]> {
    return this.#inTurn(() => this.#pollAndDecrypt(options));
  }

  /**
   * Messages as they arrive, live (SSE by default, or `transport: 'ws'`), after the saved cursor:
   * the backlog first, then new ones, each opened, verified and de-duplicated like
   * `pollAndDecrypt`'s. Reconnects (a dropped connection, a relay restart) resume exactly after the
   * last message. An entry counts as delivered once yielded: the cursor and replay cache are saved
   * for it, never ahead of it. Runs until `signal` aborts (or the loop breaks); throws only for a
   * failure that retrying cannot fix, such as a refused fresh proof.
   */
  inbox(options: InboxOptions = {}): AsyncGenerator<InboxEntry, void, undefined> {
    return readLiveInbox(this.#liveSource(), options);
  }

  /**
   * `inbox()` with callbacks: `onMessage` runs for each entry in order, the next waiting for it.
   * `unsubscribe()` closes the connection.
   */
  subscribe(options: SubscribeOptions): InboxSubscription {
    const source = this.#liveSource();
    return subscribeToInbox((signal) => readLiveInbox(source, { ...options, signal }), options);
  }

  #liveSource(): LiveInboxSource {
    const { home } = this.identity;
    return {
      relayUrl: this.relayUrl,
      info: () => this.info(),
      loadState: () =>
        this.#inTurn(async () => {
          const state = await loadMailboxState(home, this.agentId);
          this.#seen.absorb(state.seen);
          return state;
        }),
      reader: (info) => this.#messageReader(info, this.#now()),
      undeliver: (entry) => {
        if (!isUnreadable(entry)) this.#seen.forget(entry.uid);
      },
      commit: (info, delivered) =>
        this.#inTurn(async () => {
          // Merged into the file as it is now: another reader may have moved on meanwhile.
          const now = this.#now();
          const state = await loadMailboxState(home, this.agentId);
          state.recordDelivered(info.relayId, delivered, now);
          await this.#saveState(state, info, now);
        }),
      connect: ({ transport, authIn }, info) =>
        openLiveConnection({
          relayUrl: this.relayUrl,
          apiKey: this.#apiKey,
          signer: { agentId: this.agentId, keys: this.identity.keys },
          relayId: async () => (await this.info()).relayId,
          transport: transport ?? 'sse',
          authIn,
          maxMessageBytes: info.limits.maxMessageBytes,
          maxIdleMs: this.#liveIdleTimeoutMs,
          ...(this.#fetch === undefined ? {} : { fetch: this.#fetch }),
        }),
    };
  }

  /** How far back a message may have been sent: the relay's TTL claim, capped by our own bound. */
  #freshnessWindowMs(info: RelayInfo): number {
    return freshnessWindowMs(info.limits.ttlSeconds, this.#maxMessageAgeMs);
  }

  #inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const turn = this.#inboxTurn.then(fn);
    this.#inboxTurn = turn.catch(() => undefined);
    return turn;
  }

  /** Saves the state file, then forgets in memory what it forgot (both by the same window). */
  async #saveState(state: MailboxState, info: RelayInfo, now: number): Promise<void> {
    const windowMs = this.#freshnessWindowMs(info);
    await saveMailboxState(this.identity.home, this.agentId, state, now, windowMs);
    this.#seen.absorb(state.seen);
    this.#seen.prune(now, windowMs);
  }

  /** Stored message → inbox entry, judged at `now` against the client's replay cache. */
  #messageReader(info: RelayInfo, now: number): (stored: StoredMessage) => Promise<InboxEntry> {
    const failedLookups = new Map<string, SenderPin>();
    return (stored) =>
      readStoredMessage(stored, {
        agentId: this.agentId,
        keys: this.identity.keys,
        seen: this.#seen,
        windowMs: this.#freshnessWindowMs(info),
        now,
        senderPin: (from) => this.#senderPin(from, failedLookups),
      });
  }

  async #pollAndDecrypt(options: PollAndDecryptOptions): Promise<InboxEntry[]> {
    const info = await this.info();
    const state = await loadMailboxState(this.identity.home, this.agentId);
    this.#seen.absorb(state.seen);
    const limit = Math.min(
      Math.max(Math.trunc(options.limit ?? PROTOCOL_LIMITS.pollLimitDefault), 1),
      PROTOCOL_LIMITS.pollLimitMax,
    );
    const deadline = Date.now() + Math.max(options.timeoutMs ?? 0, 0);
    const startCursor = state.cursor(info.relayId);
    let result = await this.poll({ after: startCursor, limit });
    // Long-poll in steps the relay accepts (`maxWaitMs`) until something arrives or time is up.
    while (result.messages.length === 0 && deadline - Date.now() > 0) {
      const waitMs = Math.min(deadline - Date.now(), info.limits.maxWaitMs);
      if (waitMs <= 0) break;
      result = await this.poll({ after: result.cursor, limit, waitMs });
    }

    const now = this.#now();
    const read = this.#messageReader(info, now);
    const entries: InboxEntry[] = [];
    try {
      for (const stored of result.messages) entries.push(await read(stored));
      if (entries.length > 0 || result.cursor !== startCursor) {
        state.recordDelivered(info.relayId, entries, now);
        state.setCursor(info.relayId, result.cursor);
        await this.#saveState(state, info, now);
      }
    } catch (error) {
      // Nothing is handed over: what was judged here must come again, not as a replay.
      for (const entry of entries) if (!isUnreadable(entry)) this.#seen.forget(entry.uid);
      throw error;
    }
    return entries;
  }

  async stats(): Promise<MailboxStats> {
    const stats = await this.#call((relay) => relay.stats.query());
    if (stats.agentId !== this.agentId) {
      throw this.#invalidResponse(
        `its stats answer is for "${stats.agentId}", not "${this.agentId}"`,
      );
    }
    return stats;
  }

  /** Deletes messages by relay id (in batches the relay accepts); returns how many existed. */
  async deleteMessages(ids: readonly string[]): Promise<{ deleted: number }> {
    let deleted = 0;
    for (let start = 0; start < ids.length; start += PROTOCOL_LIMITS.deleteIdsMax) {
      const chunk = ids.slice(start, start + PROTOCOL_LIMITS.deleteIdsMax);
      const result = await this.#call((relay) => relay.delete.mutate({ ids: chunk }));
      deleted += result.deleted;
    }
    return { deleted };
  }

  /** The pin to check a sender against; an unpinned sender is looked up once and pinned (TOFU). */
  async #senderPin(from: string, failedLookups: Map<string, SenderPin>): Promise<SenderPin> {
    if (from === this.agentId) {
      return { pin: { key: this.agentKey, source: 'explicit', pinnedAt: this.identity.createdAt } };
    }
    const pinned = this.#pins.get(from);
    if (pinned !== undefined) return { pin: pinned };
    if (this.#requireExplicitKeys) return { pin: null, problem: 'unpinned' };
    const failed = failedLookups.get(from);
    if (failed !== undefined) return failed;
    try {
      const { record } = await this.#lookupRecord(from);
      const pin: Pin = { key: record.agentKey, source: 'directory', pinnedAt: this.#now() };
      await this.#savePin(from, pin);
      return { pin };
    } catch (error) {
      const verdict: SenderPin = {
        pin: null,
        problem: isDeadDropError(error, 'AGENT_NOT_FOUND') ? 'unknown-sender' : 'lookup-failed',
      };
      failedLookups.set(from, verdict);
      return verdict;
    }
  }

  async #resolveRecipient(input: SendMessageInput, retrying: Retrying): Promise<RecipientKey> {
    if (input.recipientKey === undefined && input.to === this.agentId) {
      const key = requireAgentKey(this.agentKey, 'this identity’s key');
      const pin: Pin = {
        key: this.agentKey,
        source: 'explicit',
        pinnedAt: this.identity.createdAt,
      };
      return { key, pin, pinChange: 'none' };
    }
    return resolveRecipientKey({
      to: input.to,
      existing: this.#pins.get(input.to),
      explicitKey: input.recipientKey,
      acceptNewKey: input.acceptNewKey,
      requireExplicitKeys: this.#requireExplicitKeys,
      now: this.#now(),
      lookup: async () => {
        const { record, fingerprint: print } = await this.#lookupRecord(input.to, retrying);
        return { agentKey: record.agentKey, fingerprint: print };
      },
    });
  }

  async #lookupRecord(
    agentId: string,
    retrying?: Retrying,
  ): Promise<{ record: AgentRecord; key: AgentPublicKey; fingerprint: string }> {
    assertAgentId(agentId);
    let record: AgentRecord;
    try {
      const lookup = (signal?: AbortSignal) =>
        this.#call((relay) =>
          relay.directory.lookup.query({ agentId }, signal === undefined ? {} : { signal }),
        );
      record = await (retrying === undefined ? lookup() : retrying(lookup));
    } catch (error) {
      if (isDeadDropError(error, 'AGENT_NOT_FOUND')) {
        throw new DeadDropError(
          'AGENT_NOT_FOUND',
          `no agent "${agentId}" is registered on ${this.relayUrl}`,
          { cause: error },
        );
      }
      throw error;
    }
    if (record.agentId !== agentId) {
      throw this.#invalidResponse(
        `its directory answered for "${record.agentId}", not "${agentId}"`,
      );
    }
    const key = parseAgentKey(record.agentKey);
    if (key === null) {
      throw this.#invalidResponse(`its directory holds a malformed or weak key for "${agentId}"`);
    }
    return { record, key, fingerprint: fingerprint(key) };
  }

  async #savePin(peerId: string, pin: Pin): Promise<void> {
    this.#pins = await savePin(this.identity, peerId, pin);
  }

  async #call<T>(fn: (relay: RelayClient) => Promise<T>): Promise<T> {
    try {
      return await fn(this.relay);
    } catch (error) {
      throw toDeadDropError(error, this.relayUrl);
    }
  }

  #invalidResponse(problem: string): DeadDropError {
    return new DeadDropError(
      'RELAY_INVALID_RESPONSE',
      `the relay at ${this.relayUrl} misbehaved: ${problem}`,
    );
  }
}

/** An option that must be a positive whole number of milliseconds, else INVALID_CONFIG. */
function positiveOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new DeadDropError(
      'INVALID_CONFIG',
      `${name} must be a positive whole number of milliseconds, not ${String(value)}`,
    );
  }
  return value;
}
