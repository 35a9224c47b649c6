// The mailbox API: register, look up, send sealed messages to pinned keys, and poll (or follow live),
// open and verify incoming ones, with the cursor and replay cache kept in the agent's state file.
// A facade: whose key is whose is contact-keys.ts, the state file's turns inbox-state.ts, the
// long-poll loop long-poll.ts, the live inbox live/.
import { setMaxListeners } from 'node:events';
import {
  PROTOCOL_LIMITS,
  batchBytesLimit,
  deriveAgentKeys,
  fingerprint,
  generateSeed,
  largestBody,
  generateWebhookSecret,
  randomBytes,
  sealMessage,
  sealMessageV2,
  signRegistration,
  signRotation,
  toB64u,
  verifyPrekey,
  type AgentRecord,
  type DirectoryRecord,
  type JsonValue,
  type HookStatus,
  type MailboxStats,
  type PollResult,
  type SendResult,
  type StoredMessage,
} from '@deaddrop/contract';
import type {
  DeadDropClientOptions,
  DirectoryEntry,
  HookSetting,
  InboxOptions,
  FileContent,
  GroupSendInput,
  GroupSendResult,
  GroupSent,
  InboxSubscription,
  MessageLimits,
  OpenClientOptions,
  OwedReceipt,
  PollAndDecryptOptions,
  PollOptions,
  RegisteredAgent,
  RelayInfo,
  ReplyOptions,
  ReplyTarget,
  SendMessageInput,
  SentMessage,
  SubscribeOptions,
} from './client-types.js';
import { resolveClientTimings, type ClientTimings } from './client-timings.js';
import { ContactKeys, type RecipientQuestion, type Retrying } from './contact-keys.js';
import { readClientEnv } from './env.js';
import { DeadDropError, isDeadDropError } from './errors.js';
import { freshnessWindowMs } from './freshness.js';
import { isUnreadable, usedPrekeyIds, type InboxEntry } from './inbox-entry.js';
import { InboxState } from './inbox-state.js';
import {
  identityFileChanged,
  loadIdentity,
  withIdentityLock,
  type Identity,
  type LockedIdentityFile,
} from './keystore.js';
import { clientLiveSource } from './live/client-live-source.js';
import { readLiveInbox, subscribeToInbox, type LiveInboxSource } from './live/live-inbox.js';
import { pollUntilMessages } from './long-poll.js';
import {
  asSingleInput,
  checkedGroup,
  groupRecipients,
  isGroupInput,
  isRecipientError,
  refusedItemError,
  sendManyChunks,
  type SealedItem,
} from './group-send.js';
import { type DeliveryRecord, type ReceivedSummary } from './message-memory.js';
import {
  assertContentFits,
  bodyOf,
  threadOf,
  prepareContent,
  type PreparedContent,
} from './message-content.js';
import type { Pin, Pins } from './pins.js';
import { PrekeySecrets } from './prekey-secrets.js';
import { PrekeySupply, verifyClaimed, type ClaimedPrekey } from './prekey-supply.js';
import { readStoredMessage, type SenderPin } from './read-stored-message.js';
import { receiptEventOf, type ReceiptEvent } from './receipts/receipt-event.js';
import { ReceiptFeed } from './receipts/receipt-feed.js';
import { ReceiptSender } from './receipts/receipt-sender.js';
import { createLeanAgents, destroyLeanAgents } from './http/lean-fetch.js';
import { RelayCalls } from './relay-calls.js';
import { normalizeRelayUrl, resolveRelayUrl } from './relay-url.js';
import {
  resolveSendRetryPolicy,
  withSendRetry,
  type ResolvedSendRetryPolicy,
} from './send-retry.js';
import { createRelayTransport, type RelayClient } from './transport.js';
import { assertAgentId, requireAgentKey } from './validate-agent.js';

/** How long a retired seed is kept beyond the relay's TTL (PROTOCOL §10). */
const RETIRED_SEED_GRACE_MS = 10 * 60_000;

/** A rotation begun and not finished, settled against the directory (`#settlePendingRotation`). */
type PendingRotation =
  /** The file holds no pending seed. */
  | { readonly state: 'none'; readonly identity: Identity }
  /** The relay held the pending seed's key: the file is finished now. */
  | { readonly state: 'finished'; readonly before: Identity; readonly after: Identity }
  /** The relay holds another key (`relayKey`); the file is as it was. */
  | { readonly state: 'not-taken'; readonly identity: Identity; readonly relayKey: string };

/** What `rotateKey` did: the key before and after. */
export interface RotatedKey {
  readonly agentId: string;
  readonly oldKey: string;
  readonly newKey: string;
  readonly oldFingerprint: string;
  readonly newFingerprint: string;
}

export class DeadDropClient {
  #identity: Identity;
  readonly relayUrl: string;
  /** The typed tRPC client underneath, for calls this class does not wrap. */
  readonly relay: RelayClient;
  readonly #now: () => number;
  readonly #apiKey: string | undefined;
  readonly #fetch: typeof fetch | undefined;
  readonly #sendRetry: ResolvedSendRetryPolicy;
  readonly #timings: ClientTimings;
  readonly #calls: RelayCalls;
  readonly #contacts: ContactKeys;
  readonly #state: InboxState;
  /** This agent's one-time prekey secrets (PROTOCOL §10). */
  readonly #prekeys: PrekeySecrets;
  /** Used prekey ids whose secrets a failed deletion left on disk (PROTOCOL §10). */
  readonly #prekeysStillToDelete = new Set<string>();
  /** Keeps the relay stocked with this agent's prekeys, and claims others' for sending. */
  readonly #prekeySupply: PrekeySupply;
  /** This client's own connection pools, so close() ends exactly its connections. */
  readonly #agents = createLeanAgents();
  /** Aborted by close(): ends every live inbox this client opened. */
  readonly #closing = new AbortController();
  /** Whether this client sends the receipts verified messages ask for (PROTOCOL §7). */
  readonly #sendsReceipts: boolean;
  readonly #receiptFeed: ReceiptFeed;
  readonly #receiptsOwed: ReceiptSender;
  #info: Promise<RelayInfo> | undefined;
  /** The re-registration under way, shared by every call the relay refused meanwhile. */
  #reregistering: Promise<void> | undefined;
  /** The catch-up with the identity file under way (`#catchUp`), shared likewise. */
  #catchingUp: Promise<void> | undefined;

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
      receipts: options.receipts ?? env.receipts,
    });
  }

  constructor(options: DeadDropClientOptions) {
    // Every call in flight listens for close() (and stops listening when done): many at once are
    // normal use, not a leak, so no MaxListenersExceededWarning.
    setMaxListeners(0, this.#closing.signal);
    this.#identity = options.identity;
    const current = (): Identity => this.#identity;
    this.relayUrl = normalizeRelayUrl(options.relayUrl ?? options.identity.relayUrl, 'relayUrl');
    this.#now = options.now ?? Date.now;
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch;
    this.#sendRetry = resolveSendRetryPolicy(options.sendRetry);
    this.#timings = resolveClientTimings(options);
    this.relay = createRelayTransport({
      relayUrl: this.relayUrl,
      apiKey: options.apiKey,
      timeoutMs: this.#timings.requestTimeoutMs,
      agents: this.#agents,
      ...(options.maxResponseBytes === undefined
        ? {}
        : { maxResponseBytes: options.maxResponseBytes }),
      // Read per request, so proofs are signed with the key a rotation put in place.
      signer: {
        agentId: options.identity.agentId,
        get keys() {
          return current().keys;
        },
      },
      relayId: async () => (await this.info()).relayId,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
    this.#calls = new RelayCalls(this.relay, this.relayUrl, {
      reregister: (refusal) => this.#reregister(refusal),
      signingKey: () => this.agentKey,
      catchUp: () => this.#catchUp(),
    });
    this.#contacts = new ContactKeys(
      this.identity,
      this.#calls,
      options.requireExplicitKeys ?? false,
      this.#now,
      async () => (await this.info()).relayId,
    );
    this.#state = new InboxState(this.identity.home, this.identity.agentId);
    this.#prekeys = new PrekeySecrets(this.identity.home, this.identity.agentId, this.#now);
    this.#prekeySupply = new PrekeySupply({
      agentId: this.identity.agentId,
      keys: () => this.identity.keys,
      calls: this.#calls,
      secrets: this.#prekeys,
      now: this.#now,
      onError: (error) => {
        process.emitWarning(
          `could not publish one-time prekeys: ${error instanceof Error ? error.message : String(error)}`,
          'DeadDropWarning',
        );
      },
    });
    this.#sendsReceipts = options.receipts ?? true;
    this.#receiptFeed = new ReceiptFeed(options.onReceipt);
    const onReceiptError =
      options.onReceiptError ??
      ((error: unknown, owed: OwedReceipt) => {
        process.emitWarning(
          `could not send a delivery receipt to "${owed.to}": ${error instanceof Error ? error.message : String(error)}`,
          'DeadDropWarning',
        );
      });
    this.#receiptsOwed = new ReceiptSender({
      send: (owed) => this.#sendReceipt(owed),
      onError: onReceiptError,
    });
  }

  /**
   * This client's identity; a `rotateKey` replaces it, and so does catching up with the identity
   * file when another process of this agent changed it (PROTOCOL §10).
   */
  get identity(): Identity {
    return this.#identity;
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
    this.#info ??= this.#calls
      .call((relay) => relay.info.query())
      .catch((error: unknown) => {
        this.#info = undefined;
        throw error;
      });
    return this.#info;
  }

  /** Claims this identity's agent id on the relay (idempotent for the same key). */
  async register(): Promise<RegisteredAgent> {
    const { relayId } = await this.info();
    const registerOnce = () =>
      this.#calls.once((relay) =>
        relay.directory.register.mutate(
          signRegistration({ relayId, agentId: this.agentId, keys: this.identity.keys }),
        ),
      );
    let record: AgentRecord;
    try {
      record = await registerOnce().catch(async (error: unknown) => {
        if (!isDeadDropError(error, 'AGENT_ID_TAKEN')) throw error;
        // Taken by a key this identity's file has moved to (another process rotated, or a run
        // died before finishing its rotation in the file): registering that key is idempotent.
        const signedWith = this.agentKey;
        await this.#catchUp();
        if (this.agentKey === signedWith) throw error;
        return registerOnce();
      });
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
      throw this.#calls.invalidResponse('its registration answer names another agent or key');
    }
    // Forward secrecy for mail to this agent (PROTOCOL §10): prekeys on the relay from the start.
    // Registered either way; without them senders fall back to v1 until a top-up succeeds.
    let prekeys: number | undefined;
    try {
      prekeys = await this.#prekeySupply.topUp();
    } catch (error) {
      process.emitWarning(
        `registered, but could not publish one-time prekeys: ${error instanceof Error ? error.message : String(error)}`,
        'DeadDropWarning',
      );
    }
    return {
      ...record,
      fingerprint: this.fingerprint,
      ...(prekeys === undefined ? {} : { prekeys }),
    };
  }

  /**
   * The relay refused a mailbox call because its store no longer knows this agent (a Redis
   * restarted without persistence, a restored backup; PROTOCOL §10): registers this identity again
   * (signed, idempotent) and says so, so the caller can retry once. Calls refused together share
   * one registration. When another key took the id meanwhile: AGENT_ID_TAKEN, saying so.
   */
  #reregister(refusal: DeadDropError): Promise<void> {
    this.#reregistering ??= (async () => {
      try {
        await this.#refreshIdentity();
        await this.register();
      } catch (error) {
        if (isDeadDropError(error, 'AGENT_ID_TAKEN')) {
          throw new DeadDropError(
            'AGENT_ID_TAKEN',
            `the relay at ${this.relayUrl} lost the registration of "${this.agentId}", and another key has registered that id since; this identity cannot use it there any more`,
            { cause: refusal },
          );
        }
        throw error;
      }
      process.emitWarning(
        `the relay at ${this.relayUrl} no longer knew agent "${this.agentId}" (its store may have lost it): registered the identity again and retried`,
        'DeadDropWarning',
      );
    })().finally(() => {
      this.#reregistering = undefined;
    });
    return this.#reregistering;
  }

  /**
   * Replaces this identity's key (PROTOCOL §10): a new seed, a statement signed by the old and the
   * new key, `directory.rotate`, then the identity file with the new seed and the old one kept in
   * `previousSeeds` for the relay's TTL + 10 min, so mail sealed to the old key still opens.
   *
   * Order of writes: the new seed is written to the file (`pendingSeed`) BEFORE the relay is asked,
   * and the file finished after. A process that dies in between keeps both seeds on disk (mail to
   * either opens); the next `rotateKey` — or the next mailbox call the relay refuses for its
   * signature (`#catchUp`) — looks the key up and finishes the rotation the relay made; the next
   * `rotateKey` drops a pending seed the relay never took. The reverse order could lose the only
   * seed the relay accepts.
   *
   * The whole rotation holds the identity file's lock: a rotation by another process of this
   * agent waits and then reads what this one left, instead of taking this one's pending seed for
   * one the relay never took while the relay is taking it.
   */
  async rotateKey(): Promise<RotatedKey> {
    const info = await this.info();
    const keepForMs = info.limits.ttlSeconds * 1000 + RETIRED_SEED_GRACE_MS;
    // Calls under the lock never recover: a recovery (a catch-up) would wait for this lock.
    const { before, after } = await withIdentityLock(this.#identity, (file) =>
      this.#calls
        .withoutRecovery(async () => {
          const pending = await this.#settlePendingRotation(file, keepForMs);
          if (pending.state === 'finished') return pending;
          let identity = pending.identity;
          if (pending.state === 'not-taken') {
            if (pending.relayKey !== identity.agentKey) {
              throw new DeadDropError(
                'KEY_CHANGED',
                `the relay's key for "${this.agentId}" is neither this identity's key nor its pending one; it was rotated elsewhere`,
              );
            }
            identity = await file.dropPendingSeed();
          }
          const seed = generateSeed();
          const newKeys = deriveAgentKeys(seed);
          await file.savePendingSeed(seed);
          seed.fill(0);
          const step = signRotation({
            relayId: info.relayId,
            agentId: this.agentId,
            oldKeys: identity.keys,
            newKeys,
            ts: this.#now(),
          });
          // On any failure the pending seed stays: whether the relay rotated is settled next time.
          const record = await this.#calls.call((relay) =>
            relay.directory.rotate.mutate({
              agentId: this.agentId,
              newKey: step.newKey,
              ts: step.ts,
              sigOld: step.sigOld,
              sigNew: step.sigNew,
            }),
          );
          if (record.agentId !== this.agentId || record.agentKey !== newKeys.agentKey) {
            throw this.#calls.invalidResponse('its rotation answer names another agent or key');
          }
          const done = await file.completeRotation({
            newKey: record.agentKey,
            now: this.#now(),
            keepForMs,
          });
          return { before: identity, after: done };
        })
        .then((rotation) => {
          // Still under the lock: identities are swapped in the order the file was written.
          this.#useIdentity(rotation.after);
          return rotation;
        }),
    );
    // The relay dropped the prekeys the old key signed (PROTOCOL §10): publish new ones.
    try {
      await this.#prekeySupply.topUp();
    } catch (error) {
      process.emitWarning(
        `rotated, but could not publish one-time prekeys: ${error instanceof Error ? error.message : String(error)}`,
        'DeadDropWarning',
      );
    }
    return {
      agentId: after.agentId,
      oldKey: before.agentKey,
      newKey: after.agentKey,
      oldFingerprint: before.fingerprint,
      newFingerprint: after.fingerprint,
    };
  }

  /**
   * Under the identity lock: a rotation the file shows begun (`pendingSeed`) is finished when the
   * directory holds its key — a run died between the relay's answer and the file's last write.
   * What `rotateKey` and `#catchUp` both do first.
   */
  async #settlePendingRotation(
    file: LockedIdentityFile,
    keepForMs: number,
  ): Promise<PendingRotation> {
    const identity = await file.read();
    if (identity.pendingKeys === undefined) return { state: 'none', identity };
    const { record } = await this.#contacts.lookup(this.agentId);
    if (record.agentKey !== identity.pendingKeys.agentKey) {
      return { state: 'not-taken', identity, relayKey: record.agentKey };
    }
    const after = await file.completeRotation({
      newKey: record.agentKey,
      now: this.#now(),
      keepForMs,
    });
    return { state: 'finished', before: identity, after };
  }

  /**
   * The relay refused a mailbox proof (AUTH_BAD_SIGNATURE): this client may be signing with a key
   * the relay no longer holds — another process of this agent rotated it (the file holds the new
   * seed), or a run died between the relay's rotation and the file's (the file holds the new seed
   * as `pendingSeed`: finished here as `rotateKey` would). Takes the identity as its file holds it
   * now; the caller retries if the key changed. Calls refused together share one catch-up.
   */
  #catchUp(): Promise<void> {
    this.#catchingUp ??= (async () => {
      const { ttlSeconds } = (await this.info()).limits;
      const keepForMs = ttlSeconds * 1000 + RETIRED_SEED_GRACE_MS;
      // Calls under the lock never recover: a recovery would wait for this lock.
      await withIdentityLock(this.#identity, (file) =>
        this.#calls.withoutRecovery(async () => {
          const pending = await this.#settlePendingRotation(file, keepForMs);
          if (pending.state !== 'finished') {
            this.#useIdentity(pending.identity);
            return;
          }
          process.emitWarning(
            `finished the key rotation of "${this.agentId}" that an earlier run began: the relay held the new key (fingerprint ${pending.after.fingerprint}), the identity file did not yet`,
            'DeadDropWarning',
          );
          this.#useIdentity(pending.after);
        }),
      );
    })().finally(() => {
      this.#catchingUp = undefined;
    });
    return this.#catchingUp;
  }

  /**
   * Before signing anything the relay does not check (a message, a registration): the identity as
   * its file holds it, if another process of this agent changed it (a rotation) — one stat when
   * nothing changed. Without this a process that only sends would sign with a retired key, and one
   * that re-registers after a lost store would register it. A file gone is not this call's
   * business: the keys in memory stand.
   */
  async #refreshIdentity(): Promise<void> {
    if (!(await identityFileChanged(this.#identity))) return;
    try {
      await this.#reloadIdentity();
    } catch (error) {
      if (!isDeadDropError(error, 'IDENTITY_NOT_FOUND')) throw error;
    }
  }

  /** Takes the identity as its file holds it now (read under the lock: see `#useIdentity`). */
  #reloadIdentity(): Promise<void> {
    return withIdentityLock(this.#identity, async (file) => {
      this.#useIdentity(await file.read());
    });
  }

  /**
   * Takes `identity` (its keys, kept seeds and pins) as this client's from now on. Called under the
   * identity lock, with what the file held then, so a slower reload never puts back keys a rotation
   * replaced.
   */
  #useIdentity(identity: Identity): void {
    this.#identity = identity;
    this.#contacts.useIdentity(identity);
  }

  /** The directory's key for `agentId`, compared with this client's pin. Does not pin. */
  async lookup(agentId: string): Promise<DirectoryEntry> {
    const { record, key } = await this.#contacts.lookup(agentId);
    const pin = this.#contacts.pins.get(agentId) ?? null;
    const pinStatus =
      pin === null ? 'unpinned' : pin.key === record.agentKey ? 'matches' : 'differs';
    return { ...record, fingerprint: fingerprint(key), pin, pinStatus };
  }

  /**
   * Pins a key given out of band (source `explicit`), replacing any pin for `agentId`. A key that
   * differs from the relay directory's for that agent is refused (`KEY_MISMATCH`) unless
   * `acceptKey`.
   */
  pin(agentId: string, agentKey: string, options: { acceptKey?: boolean } = {}): Promise<Pin> {
    return this.#contacts.pinExplicitly(agentId, agentKey, options.acceptKey === true);
  }

  /** This identity's pins, as last read or written (a copy). */
  pins(): Pins {
    return new Map(this.#contacts.pins);
  }

  /**
   * Seals a message to the recipient's pinned (or given) key and sends it: `message` (any JSON,
   * a string for text) or `bytes` of a `contentType` (a file). A body the relay's limit cannot
   * hold is refused before sealing (`limits()` says what fits). Calls that fail because the relay
   * cannot be reached, does not answer or has no store are retried per `sendRetry`, the send with
   * the same idempotency key: the message is stored once however often it is sent.
   */
  sendMessage(input: SendMessageInput): Promise<SentMessage>;
  /** With a list of recipients: a group send, as `sendToGroup`. */
  sendMessage(input: GroupSendInput): Promise<GroupSent>;
  async sendMessage(input: SendMessageInput | GroupSendInput): Promise<SentMessage | GroupSent> {
    if (isGroupInput(input)) return this.sendToGroup(input);
    assertAgentId(input.to);
    const content = prepareContent(input);
    return this.#send(input, content);
  }

  /**
   * A group send (PROTOCOL §8): the body sealed separately to each recipient's pinned key (first
   * contact pins each), every copy naming the whole group, stored by the relay's `sendMany` (single
   * sends on a relay that speaks only v1). What concerns one recipient — an unregistered id, a
   * changed key, a full mailbox — is that recipient's result; it throws only when nothing was sent.
   */
  async sendToGroup(input: GroupSendInput): Promise<GroupSent> {
    const recipients = groupRecipients(input.to, this.agentId);
    const group = input.group ?? {
      id: toB64u(randomBytes(16)),
      members: [this.agentId, ...recipients],
    };
    const first = recipients[0] ?? this.agentId;
    const content: PreparedContent = {
      ...prepareContent(asSingleInput(input, first)),
      group: checkedGroup(group, this.agentId, recipients),
    };
    const retrying = this.#retrying();
    const info = await retrying(() => this.info());
    await this.#refreshIdentity();
    // Every recipient's lookup and prekey claim at once: the transport batches them into a few
    // requests instead of a round trip per recipient.
    const sealedOrFailed = new Map(
      await Promise.all(
        recipients.map(async (to): Promise<[string, SealedItem | DeadDropError]> => {
          try {
            const item = await this.#sealFor(
              { to, acceptNewKey: input.acceptNewKey },
              content,
              info,
              retrying,
            );
            return [to, item];
          } catch (error) {
            if (!isRecipientError(error)) throw error;
            return [to, error];
          }
        }),
      ),
    );
    const sealed = [...sealedOrFailed.values()].filter(
      (item): item is SealedItem => !(item instanceof DeadDropError),
    );
    const outcomes = await this.#dispatch(sealed, info, retrying);
    const results = recipients.map((to): GroupSendResult => {
      const failed = sealedOrFailed.get(to);
      if (failed instanceof DeadDropError) return { to, ok: false, error: failed };
      const outcome = outcomes.get(to);
      if (outcome === undefined || outcome instanceof DeadDropError)
        return {
          to,
          ok: false,
          error: outcome ?? this.#calls.invalidResponse(`it left out "${to}"`),
        };
      return { to, ok: true, sent: outcome };
    });
    if (content.receipt === true) {
      await this.#rememberAskedReceipts(
        results.flatMap((result) => (result.ok ? [result.sent] : [])),
        info,
      );
    }
    return { groupId: group.id, members: group.members, results };
  }

  /** Sends sealed copies: `sendMany` in chunks the relay accepts, else one `send` each. */
  async #dispatch(
    items: readonly SealedItem[],
    info: RelayInfo,
    retrying: Retrying,
  ): Promise<Map<string, SentMessage | DeadDropError>> {
    const outcomes = new Map<string, SentMessage | DeadDropError>();
    const speaksV11 = info.protocol?.includes('v1.1') === true;
    for (const chunk of sendManyChunks(items, batchBytesLimit(info.limits))) {
      if (!speaksV11) {
        for (const item of chunk) {
          try {
            const sent = await retrying((signal) =>
              this.#calls.call((relay) => relay.send.mutate(item.request, { signal })),
            );
            outcomes.set(item.request.to, this.#sentMessage(item, sent));
          } catch (error) {
            if (!(error instanceof DeadDropError)) throw error;
            outcomes.set(item.request.to, error);
          }
        }
        continue;
      }
      try {
        // Retried whole with the same idempotency keys: an item stored by a lost attempt comes
        // back as a duplicate, never twice.
        const answer = await retrying((signal) =>
          this.#calls.call((relay) =>
            relay.sendMany.mutate({ items: chunk.map((item) => item.request) }, { signal }),
          ),
        );
        // The answer checker (checked-answers-link.ts) made sure of one result per item, in order.
        answer.results.forEach((result, index) => {
          const item = chunk[index];
          if (item === undefined) return;
          outcomes.set(
            item.request.to,
            result.ok ? this.#sentMessage(item, result) : refusedItemError(result, this.relayUrl),
          );
        });
      } catch (error) {
        // Earlier chunks may be stored: this one's recipients get the error, not the whole call.
        if (!(error instanceof DeadDropError)) throw error;
        for (const item of chunk) outcomes.set(item.request.to, error);
      }
    }
    return outcomes;
  }

  /**
   * Answers `target` (a received message, or what `findReceived` remembers of one) to its sender:
   * `replyTo` is its uid and `threadId` its thread (its own uid when it started one).
   */
  reply(
    target: ReplyTarget,
    body: JsonValue | FileContent,
    options: ReplyOptions = {},
  ): Promise<SentMessage> {
    return this.sendMessage({ ...options, ...threadOf(target), to: target.from, ...bodyOf(body) });
  }

  /**
   * Answers `target` to all its group's members but you, in the same group (PROTOCOL §6 `group`);
   * a message that named no group is answered to its sender, in a new group of the two of you.
   */
  replyAll(
    target: ReplyTarget,
    body: JsonValue | FileContent,
    options: ReplyOptions = {},
  ): Promise<GroupSent> {
    const { group } = target;
    const inGroup = group?.members.includes(this.agentId) === true ? group : undefined;
    return this.sendToGroup({
      ...options,
      ...threadOf(target),
      to: (inGroup?.members ?? [target.from]).filter((member) => member !== this.agentId),
      ...(inGroup === undefined ? {} : { group: inGroup }),
      ...bodyOf(body),
    });
  }

  /**
   * A message received lately, by the relay's id or its own uid: the state file remembers the last
   * 256 handed over (so a reply can name one after it was deleted from the mailbox).
   */
  findReceived(idOrUid: string): Promise<ReceivedSummary | undefined> {
    return this.#state.inTurn(async () => (await this.#state.load()).memory.findReceived(idOrUid));
  }

  /**
   * The messages this agent sent asking for a receipt (the last 256), newest first, each with
   * `deliveredAt` once a verified receipt from its recipient was read by this client.
   */
  deliveries(): Promise<DeliveryRecord[]> {
    return this.#state.inTurn(async () => (await this.#state.load()).memory.deliveries());
  }

  /**
   * What fits in one message on this relay, in plaintext terms: bytes of file data and of text.
   * For `to` exactly; without it, for any recipient (the longest agent id).
   */
  async limits(to?: string): Promise<MessageLimits> {
    if (to !== undefined) assertAgentId(to);
    const { maxMessageBytes } = (await this.info()).limits;
    const { fileBytes, textBytes } = largestBody(maxMessageBytes, { from: this.agentId, to });
    return { maxMessageBytes, fileBytes, textBytes };
  }

  async #send(input: RecipientQuestion, content: PreparedContent): Promise<SentMessage> {
    const retrying = this.#retrying();
    const info = await retrying(() => this.info());
    await this.#refreshIdentity();
    const item = await this.#sealFor(input, content, info, retrying);
    const answer = await retrying((signal) =>
      this.#calls.call((relay) => relay.send.mutate(item.request, { signal })),
    );
    const sent = this.#sentMessage(item, answer);
    if (content.receipt === true) await this.#rememberAskedReceipts([sent], info);
    return sent;
  }

  /** One `sendMessage` call's retry policy and deadline, shared by every relay call it makes. */
  #retrying(): Retrying {
    const run = {
      deadline: Date.now() + this.#sendRetry.totalTimeoutMs,
      policy: this.#sendRetry,
      relayUrl: this.relayUrl,
      // A client closed before this call still makes it (close() ends what is under way).
      closing: this.#closing.signal.aborted ? undefined : this.#closing.signal,
    };
    return (attempt) => withSendRetry(run, attempt);
  }

  /** The recipient's key (pinned now on first contact), and `content` sealed to it. */
  async #sealFor(
    input: RecipientQuestion,
    content: PreparedContent,
    info: RelayInfo,
    retrying: Retrying,
  ): Promise<SealedItem> {
    const limit = info.limits.maxMessageBytes;
    assertContentFits(content, {
      from: this.agentId,
      to: input.to,
      maxMessageBytes: limit,
      relayUrl: this.relayUrl,
    });
    // The claim goes out beside the directory lookup (in parallel: no extra round trip; tRPC
    // batches queries and mutations apart, so they are two requests). A message to
    // yourself needs no prekey, and a receipt (ids only) does not spend one of the recipient's:
    // prekeys are for mail, and the relay's count falls by one per forward-secret message.
    // A key accepted against the directory's cannot vouch for the relay's prekeys (the directory's
    // key signed them): such a message is sealed to the accepted key itself. The claim gets one
    // send attempt's time, not the request timeout: a relay holding it must not spend the whole
    // send's budget on what only decides between v2 and v1.
    const needsPrekey =
      input.to !== this.agentId && content.kind !== 'receipt' && input.acceptKey !== true;
    // forRecipient throws at once for a refusal known before any request (strict mode, no pin):
    // then no prekey is claimed.
    const resolving = this.#contacts.forRecipient(input, retrying);
    const [resolved, claimed] = await Promise.all([
      resolving,
      needsPrekey
        ? this.#prekeySupply.claim(input.to, AbortSignal.timeout(this.#sendRetry.attemptTimeoutMs))
        : Promise.resolve<ClaimedPrekey>({ prekey: null, why: 'unavailable' }),
    ]);
    let recipient = resolved;
    if (claimed.prekey !== null && !verifyPrekey(input.to, claimed.prekey, recipient.key)) {
      // Signed by another key: the recipient may have rotated away from a key kept without a
      // lookup (an explicit key given again). Verified rotations move the pin; else refused.
      const moved = await this.#contacts.followRecipientRotation(input.to, recipient.pin, retrying);
      if (moved !== null) {
        recipient = {
          key: requireAgentKey(moved.key, `the rotated key for "${input.to}"`),
          pin: moved,
          pinChange: 'replaced',
        };
      }
      verifyClaimed(input.to, claimed.prekey, recipient.key);
    }
    const sealInput = {
      ...content,
      from: this.agentId,
      sender: this.identity.keys,
      to: input.to,
    };
    let sealed =
      claimed.prekey === null
        ? sealMessage({ ...sealInput, recipient: recipient.key })
        : sealMessageV2({ ...sealInput, prekey: claimed.prekey });
    let forwardSecret = claimed.prekey !== null;
    // v2 is 8 bytes longer: a body that fits v1 exactly may not fit v2 (the prekey is spent).
    if (forwardSecret && sealed.bytes > limit) {
      sealed = sealMessage({ ...sealInput, recipient: recipient.key });
      forwardSecret = false;
    }
    if (sealed.bytes > limit) {
      throw new DeadDropError(
        'MESSAGE_TOO_LARGE',
        `message too large: sealed it is ${sealed.bytes} bytes, the relay at ${this.relayUrl} accepts at most ${limit}; send less`,
      );
    }
    if (recipient.pinChange !== 'none') await this.#contacts.save(input.to, recipient.pin);
    return {
      request: {
        to: input.to,
        ciphertext: sealed.ciphertext,
        idempotencyKey: toB64u(randomBytes(16)),
      },
      recipient,
      sealed,
      forwardSecret,
      bytes: sealed.bytes,
    };
  }

  #sentMessage(item: SealedItem, answer: SendResult): SentMessage {
    const { recipient, sealed } = item;
    return {
      id: answer.id,
      uid: sealed.id,
      to: item.request.to,
      recipientKey: recipient.pin.key,
      recipientFingerprint: fingerprint(recipient.key),
      pinSource: recipient.pin.source,
      pinChange: recipient.pinChange,
      forwardSecret: item.forwardSecret,
      bytes: sealed.bytes,
      sentAt: sealed.sentAt,
      receivedAt: answer.receivedAt,
      expiresAt: answer.expiresAt,
      duplicate: answer.duplicate,
    };
  }

  /**
   * Remembers messages that asked for a receipt, for `deliveries()`. They are sent already: a state
   * file that cannot be written costs the record, never the send's result.
   */
  async #rememberAskedReceipts(sent: readonly SentMessage[], info: RelayInfo): Promise<void> {
    if (sent.length === 0) return;
    try {
      await this.#state.inTurn(async () => {
        const now = this.#now();
        const state = await this.#state.load();
        for (const message of sent) {
          state.memory.sentAskingReceipt({
            uid: message.uid,
            to: message.to,
            id: message.id,
            sentAt: message.sentAt,
          });
        }
        await this.#state.save(state, now, this.#freshnessWindowMs(info));
      });
    } catch {
      // Only the delivery record is lost; the messages went out.
    }
  }

  /** One receipt (PROTOCOL §7), to the pinned key of the verified sender it acknowledges. */
  async #sendReceipt(owed: OwedReceipt): Promise<void> {
    await this.#send(
      { to: owed.to },
      { kind: 'receipt', body: { of: [...owed.of], status: 'delivered' } },
    );
  }

  /**
   * Receipt events (PROTOCOL §7): those that arrived while no such iterator ran (the last 1000),
   * then each new one, until `signal` aborts or the client closes. Receipts arrive through this
   * client's polls and live inboxes; this does not read the mailbox itself.
   */
  receipts(
    options: { readonly signal?: AbortSignal | undefined } = {},
  ): AsyncGenerator<ReceiptEvent, void, undefined> {
    return this.#receiptFeed.read(this.#untilClosed(options.signal));
  }

  /** Sends the receipts owed now, and waits until every one under way is sent or has failed. */
  flushReceipts(): Promise<void> {
    return this.#receiptsOwed.flush();
  }

  /** Raw stored messages after `after` (no decryption, no state). */
  poll(options: PollOptions = {}): Promise<PollResult> {
    const input = {
      ...(options.after === undefined ? {} : { after: options.after }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.waitMs === undefined ? {} : { waitMs: options.waitMs }),
    };
    // A long-poll's deadline is its wait plus the request timeout (checked-answers-link.ts).
    return this.#calls.call((relay) => relay.poll.query(input));
  }

  /**
   * Messages after the saved cursor, opened and verified. One entry per stored message: a
   * `ReceivedMessage`, or `{ id, error }` for one that cannot be opened or is a replay. The cursor
   * and the replay cache are saved before returning. Calls on one client run one after another.
   */
  pollAndDecrypt(options: PollAndDecryptOptions = {}): Promise<InboxEntry[]> {
    return this.#state.inTurn(async () => {
      const entries = await this.#pollAndDecrypt(options);
      // Receipts are events, not messages; what the caller takes may owe receipts (sent now, in
      // the background: their failure is reported, never thrown here).
      const messages = entries.filter((entry) => !this.#tookReceipt(entry));
      if (this.#sendsReceipts) {
        this.#receiptsOwed.owe(messages);
        this.#receiptsOwed.sendNow();
      }
      return messages;
    });
  }

  /** Publishes `entry` as a receipt event if it is a receipt. */
  #tookReceipt(entry: InboxEntry): boolean {
    const receipt = isUnreadable(entry) ? null : receiptEventOf(entry);
    if (receipt === null) return false;
    this.#receiptFeed.publish(receipt);
    return true;
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
    return readLiveInbox(this.#liveSource(), {
      ...options,
      signal: this.#untilClosed(options.signal),
    });
  }

  /**
   * Ends this client's live inboxes and subscriptions and its pooled connections at once, so a
   * script exits without waiting for idle connections to time out. Calls made afterwards open
   * new connections.
   */
  close(): void {
    this.#closing.abort();
    // Receipts owed but not yet sent are dropped (`flushReceipts()` first to send them).
    this.#receiptsOwed.abandon();
    destroyLeanAgents(this.#agents);
  }

  /** `signal`, also aborted when the client is closed. */
  #untilClosed(signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined
      ? this.#closing.signal
      : AbortSignal.any([signal, this.#closing.signal]);
  }

  /**
   * `inbox()` with callbacks: `onMessage` runs for each entry in order, the next waiting for it.
   * `unsubscribe()` closes the connection.
   */
  subscribe(options: SubscribeOptions): InboxSubscription {
    const source = this.#liveSource();
    return subscribeToInbox((signal) => readLiveInbox(source, { ...options, signal }), {
      ...options,
      signal: this.#untilClosed(options.signal),
    });
  }

  #liveSource(): LiveInboxSource {
    return clientLiveSource({
      relayUrl: this.relayUrl,
      apiKey: this.#apiKey,
      fetch: this.#fetch,
      identity: () => this.identity,
      info: () => this.info(),
      state: this.#state,
      reader: (info) => this.#messageReader(info, this.#now()),
      windowMs: (info) => this.#freshnessWindowMs(info),
      maxIdleMs: this.#timings.liveIdleTimeoutMs,
      now: this.#now,
      receipt: (event) => {
        this.#receiptFeed.publish(event);
      },
      recorded: (delivered) => this.#forgetUsedPrekeys(delivered),
      handedOver: (entry) => {
        if (!this.#sendsReceipts) return;
        this.#receiptsOwed.owe([entry]);
        this.#receiptsOwed.sendSoon();
      },
      reregister: (refusal) => this.#calls.reregister(refusal),
    });
  }

  /**
   * Deletes the prekey secrets recorded entries used. A failure (a full disk, a lock another
   * process holds too long) costs forward secrecy for those messages until the next success,
   * never the messages: warned, not thrown, and the ids are tried again with the next deletion.
   */
  async #forgetUsedPrekeys(entries: readonly InboxEntry[]): Promise<void> {
    const ids = [...this.#prekeysStillToDelete, ...usedPrekeyIds(entries)];
    if (ids.length === 0) return;
    try {
      await this.#prekeys.use(ids);
      for (const id of ids) this.#prekeysStillToDelete.delete(id);
    } catch (error) {
      for (const id of ids) this.#prekeysStillToDelete.add(id);
      process.emitWarning(
        `could not delete used one-time prekey secrets (tried again at the next deletion): ${error instanceof Error ? error.message : String(error)}`,
        'DeadDropWarning',
      );
    }
  }

  /** How far back a message may have been sent: the relay's TTL claim, capped by our own bound. */
  #freshnessWindowMs(info: RelayInfo): number {
    return freshnessWindowMs(info.limits.ttlSeconds, this.#timings.maxMessageAgeMs);
  }

  /**
   * Stored message → inbox entry, judged at `now` against the client's replay cache. One reader per
   * batch: before its first `decrypt-failed`, it looks whether the identity file changed (one stat)
   * — another process of this agent may have rotated the key, and v1 mail to the new key would
   * otherwise be judged unreadable and the shared cursor moved past it — and if so reads the file
   * and tries that message again.
   */
  #messageReader(info: RelayInfo, now: number): (stored: StoredMessage) => Promise<InboxEntry> {
    const failedLookups = new Map<string, SenderPin>();
    const rotationLookups = new Map<string, Promise<DirectoryRecord | null>>();
    let lookedAtFile = false;
    const read = (stored: StoredMessage): Promise<InboxEntry> =>
      readStoredMessage(stored, {
        agentId: this.agentId,
        keys: this.identity.keys,
        otherKeys: this.identity.otherKeys,
        seen: this.#state.seen,
        windowMs: this.#freshnessWindowMs(info),
        now,
        senderPin: (from) => this.#contacts.forSender(from, failedLookups),
        prekeys: this.#prekeys,
        followRotation: (from, fromKey) =>
          this.#contacts.followSenderRotation(from, fromKey, rotationLookups),
      });
    return async (stored) => {
      let entry = await read(stored);
      if (isUnreadable(entry) && entry.error === 'decrypt-failed' && !lookedAtFile) {
        lookedAtFile = true;
        if (await identityFileChanged(this.#identity)) {
          await this.#reloadIdentity();
          entry = await read(stored);
        }
      }
      if (!isUnreadable(entry) && entry.forwardSecret) this.#prekeySupply.opened();
      return entry;
    };
  }

  async #pollAndDecrypt(options: PollAndDecryptOptions): Promise<InboxEntry[]> {
    const info = await this.info();
    const state = await this.#state.load();
    const startCursor = state.cursor(info.relayId);
    const result = await pollUntilMessages((poll) => this.poll(poll), {
      after: startCursor,
      limit: Math.min(
        Math.max(Math.trunc(options.limit ?? PROTOCOL_LIMITS.pollLimitDefault), 1),
        PROTOCOL_LIMITS.pollLimitMax,
      ),
      timeoutMs: options.timeoutMs ?? 0,
      maxWaitMs: info.limits.maxWaitMs,
    });
    const now = this.#now();
    const read = this.#messageReader(info, now);
    const entries: InboxEntry[] = [];
    try {
      for (const stored of result.messages) entries.push(await read(stored));
      if (entries.length > 0 || result.cursor !== startCursor) {
        state.recordDelivered(info.relayId, entries, now);
        state.setCursor(info.relayId, result.cursor);
        await this.#state.save(state, now, this.#freshnessWindowMs(info));
        // Forward secrecy (PROTOCOL §10): recorded as seen, the prekey secrets go, durably,
        // before the entries are handed over.
        await this.#forgetUsedPrekeys(entries);
      }
    } catch (error) {
      // Nothing is handed over: what was judged here must come again, not as a replay.
      this.#state.undeliver(entries);
      throw error;
    }
    return entries;
  }

  async stats(): Promise<MailboxStats> {
    const stats = await this.#calls.call((relay) => relay.stats.query());
    if (stats.agentId !== this.agentId) {
      throw this.#calls.invalidResponse(
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
      const result = await this.#calls.call((relay) => relay.delete.mutate({ ids: chunk }));
      deleted += result.deleted;
    }
    return { deleted };
  }

  /**
   * Sets this mailbox's wake-up webhook (PROTOCOL §9): when mail arrives the relay POSTs a signed,
   * content-free notice to `url`. Without `secret` a strong one is generated; either way the answer
   * carries it, for the receiving function's `verifyWebhookNotice`.
   */
  async setHook(url: string, secret: string = generateWebhookSecret()): Promise<HookSetting> {
    const set = await this.#calls.call((relay) => relay.hooks.set.mutate({ url, secret }));
    return { url: set.url, createdAt: set.createdAt, secret };
  }

  /** This mailbox's webhook and its delivery status (never its secret), or null. */
  getHook(): Promise<HookStatus | null> {
    return this.#calls.call((relay) => relay.hooks.get.query());
  }

  /** Removes this mailbox's webhook; `cleared` is false when there was none. */
  clearHook(): Promise<{ cleared: boolean }> {
    return this.#calls.call((relay) => relay.hooks.clear.mutate());
  }
}
