// Whose key is whose (PROTOCOL §2 "pinning"): the pins on file, the directory lookups that make
// first-contact pins (trust on first use) for senders and recipients, and the keys given out of
// band. Never a key from a message itself.
import {
  fingerprint,
  parseAgentKey,
  verifyRotationChain,
  type AgentPublicKey,
  type DirectoryRecord,
} from '@deaddrop/contract';
import { DeadDropError, isDeadDropError } from './errors.js';
import { savePin, type Identity } from './keystore.js';
import type { Pin, Pins } from './pins.js';
import type { SenderPin } from './read-stored-message.js';
import { refusedBeforeLookup, resolveRecipientKey, type RecipientKey } from './recipient-key.js';
import type { RelayCalls } from './relay-calls.js';
import type { RetriedAttempt } from './send-retry.js';
import { assertAgentId, requireAgentKey } from './validate-agent.js';

/** Runs an attempt under one `sendMessage` call's retry policy and deadline. */
export type Retrying = <T>(attempt: RetriedAttempt<T>) => Promise<T>;

export interface DirectoryAnswer {
  readonly record: DirectoryRecord;
  readonly key: AgentPublicKey;
  readonly fingerprint: string;
}

export interface RecipientQuestion {
  readonly to: string;
  readonly recipientKey?: string | undefined;
  readonly acceptNewKey?: boolean | undefined;
  readonly acceptKey?: boolean | undefined;
}

export class ContactKeys {
  #pins: Pins;
  #identity: Identity;
  /** The pin save under way, if any; the next waits for it. */
  #saving: Promise<void> = Promise.resolve();

  constructor(
    identity: Identity,
    private readonly relay: RelayCalls,
    private readonly requireExplicitKeys: boolean,
    private readonly now: () => number,
    /** The relay id rotation statements must name (from `info`). */
    private readonly relayId: () => Promise<string>,
  ) {
    this.#identity = identity;
    this.#pins = identity.pins;
  }

  /** After this identity's own key rotated: its new keys, its pins as the file now holds them. */
  useIdentity(identity: Identity): void {
    this.#identity = identity;
    this.#pins = identity.pins;
  }

  /**
   * Whether the directory's `record` follows from `pin` by verified rotations (PROTOCOL §10); if so
   * the pin to save instead (the directory's key, its source kept), and a warning says so. Null
   * for anything else: the pin stands, and the caller refuses the key as before.
   */
  async followRotation(agentId: string, pin: Pin, record: DirectoryRecord): Promise<Pin | null> {
    if (record.agentKey === pin.key) return pin;
    const verdict = verifyRotationChain({
      relayId: await this.relayId(),
      agentId,
      fromKey: pin.key,
      toKey: record.agentKey,
      rotations: record.rotations,
    });
    if (!verdict.ok) return null;
    const moved: Pin = { key: record.agentKey, source: pin.source, pinnedAt: this.now() };
    process.emitWarning(
      `key rotated for "${agentId}" (fingerprint ${fingerprintOf(pin.key)} → ${fingerprintOf(record.agentKey)}), following ${verdict.steps.length} signed rotation(s) in the relay directory`,
      'DeadDropWarning',
    );
    return moved;
  }

  /**
   * The pin for recipient `to` moved along the directory's verified rotations from `pin`, or null
   * when the directory shows none (or cannot answer). Asked when a claimed prekey is signed by
   * another key than the pin's: the pin may be a key kept without a lookup.
   */
  async followRecipientRotation(to: string, pin: Pin, retrying: Retrying): Promise<Pin | null> {
    let answer: DirectoryAnswer;
    try {
      answer = await this.lookup(to, retrying);
    } catch (error) {
      if (isDeadDropError(error)) return null;
      throw error;
    }
    return answer.record.agentKey === pin.key ? null : this.followRotation(to, pin, answer.record);
  }

  /** The pins as last read or written. */
  get pins(): Pins {
    return this.#pins;
  }

  /**
   * Pins a key given out of band (source `explicit`), replacing any pin for `agentId`; refused
   * (`KEY_MISMATCH`) when the directory holds another key for it, unless `acceptKey`.
   */
  async pinExplicitly(agentId: string, agentKey: string, acceptKey = false): Promise<Pin> {
    assertAgentId(agentId);
    requireAgentKey(agentKey, `the key given for "${agentId}"`);
    const given: Pin = { key: agentKey, source: 'explicit', pinnedAt: this.now() };
    const pin = acceptKey ? given : await this.#checkExplicitKey(agentId, given);
    await this.save(agentId, pin);
    return pin;
  }

  /**
   * Saves one pin. Saves run one at a time: each rewrites the identity file from what it reads, so
   * two at once (a group send's recipients, concurrent sends) would keep only one of the pins.
   */
  save(peerId: string, pin: Pin): Promise<void> {
    const saved = this.#saving.then(async () => {
      this.#pins = await savePin(this.#identity, peerId, pin);
    });
    this.#saving = saved.catch(() => undefined);
    return saved;
  }

  /** The directory's record for `agentId`, checked to be for that agent, with a usable key. */
  async lookup(agentId: string, retrying?: Retrying): Promise<DirectoryAnswer> {
    assertAgentId(agentId);
    let record: DirectoryRecord;
    try {
      const lookup = (signal?: AbortSignal) =>
        this.relay.call((relay) =>
          relay.directory.lookup.query({ agentId }, signal === undefined ? {} : { signal }),
        );
      record = await (retrying === undefined ? lookup() : retrying(lookup));
    } catch (error) {
      if (isDeadDropError(error, 'AGENT_NOT_FOUND')) {
        throw new DeadDropError(
          'AGENT_NOT_FOUND',
          `no agent "${agentId}" is registered on ${this.relay.relayUrl}`,
          { cause: error },
        );
      }
      throw error;
    }
    if (record.agentId !== agentId) {
      throw this.relay.invalidResponse(
        `its directory answered for "${record.agentId}", not "${agentId}"`,
      );
    }
    const key = parseAgentKey(record.agentKey);
    if (key === null) {
      throw this.relay.invalidResponse(
        `its directory holds a malformed or weak key for "${agentId}"`,
      );
    }
    return { record, key, fingerprint: fingerprint(key) };
  }

  /**
   * The pin to judge a message from `from` by; an unpinned sender is looked up once and pinned
   * (trust on first use). `failedLookups` holds the verdicts of lookups that failed in this batch.
   */
  /**
   * A message from `from` carried `fromKey`, not the pinned key: the pin moves (and is saved) when
   * the directory shows a verified rotation chain from the pin to `fromKey`; else null.
   * `lookedUp` holds this batch's directory answers by sender.
   */
  async followSenderRotation(
    from: string,
    fromKey: string,
    lookedUp: Map<string, Promise<DirectoryRecord | null>>,
  ): Promise<Pin | null> {
    const pinned = this.#pins.get(from);
    if (pinned === undefined || from === this.#identity.agentId) return null;
    // One lookup per sender per batch: anyone can send mail naming a pinned sender, signed by a
    // key of their own, and each must not cost a directory request.
    let pending = lookedUp.get(from);
    if (pending === undefined) {
      pending = this.lookup(from).then(
        (answer) => answer.record,
        () => null,
      );
      lookedUp.set(from, pending);
    }
    const record = await pending;
    if (record === null || record.agentKey !== fromKey) return null;
    const moved = await this.followRotation(from, pinned, record);
    if (moved !== null) await this.save(from, moved);
    return moved;
  }

  async forSender(from: string, failedLookups: Map<string, SenderPin>): Promise<SenderPin> {
    if (from === this.#identity.agentId) return { pin: this.#ownPin() };
    const pinned = this.#pins.get(from);
    if (pinned !== undefined) return { pin: pinned };
    if (this.requireExplicitKeys) return { pin: null, problem: 'unpinned' };
    const failed = failedLookups.get(from);
    if (failed !== undefined) return failed;
    try {
      const { record } = await this.lookup(from);
      const pin: Pin = { key: record.agentKey, source: 'directory', pinnedAt: this.now() };
      await this.save(from, pin);
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

  /**
   * The key to seal a message to `to` with: this identity's own for itself, a key given out of band,
   * the pin, or on first contact the directory's. Saving the pin is the caller's, once sealed.
   * Throws (synchronously) `NOT_PINNED` in strict mode for a recipient with no pin and no key.
   */
  forRecipient(question: RecipientQuestion, retrying: Retrying): Promise<RecipientKey> {
    if (question.to === this.#identity.agentId) {
      // A note to oneself is sealed to one's own key; another key given for it is a mistake that
      // would pin a stranger's key under one's own id and seal a message one cannot open.
      if (
        question.recipientKey !== undefined &&
        question.recipientKey !== this.#identity.agentKey
      ) {
        return Promise.reject(
          new DeadDropError(
            'INVALID_AGENT_KEY',
            `${question.to} is this identity: a message to yourself is sealed to your own key, not the one given`,
          ),
        );
      }
      const key = requireAgentKey(this.#identity.agentKey, 'this identity’s key');
      return Promise.resolve({ key, pin: this.#ownPin(), pinChange: 'none' });
    }
    const refused = refusedBeforeLookup({
      to: question.to,
      existing: this.#pins.get(question.to),
      explicitKey: question.recipientKey,
      requireExplicitKeys: this.requireExplicitKeys,
    });
    // Thrown, not rejected: the caller has not claimed a prekey yet and must not.
    if (refused !== null) throw refused;
    // One lookup serves both the key and, when it differs from the pin, the rotations.
    let answer: DirectoryAnswer | undefined;
    return resolveRecipientKey({
      to: question.to,
      existing: this.#pins.get(question.to),
      explicitKey: question.recipientKey,
      acceptNewKey: question.acceptNewKey,
      requireExplicitKeys: this.requireExplicitKeys,
      now: this.now(),
      lookup: async () => {
        answer = await this.lookup(question.to, retrying);
        return { agentKey: answer.record.agentKey, fingerprint: answer.fingerprint };
      },
      checkExplicitKey:
        question.acceptKey === true
          ? undefined
          : (given) => this.#checkExplicitKey(question.to, given, retrying),
      followRotation: async (existing) => {
        answer ??= await this.lookup(question.to, retrying);
        return this.followRotation(question.to, existing, answer.record);
      },
    });
  }

  /**
   * Refuses an explicit key for `agentId` that differs from the directory's (PROTOCOL §10: a
   * newcomer who pinned someone else's key by mistake otherwise learns of it only as the
   * recipient's `decrypt-failed`). A safety net, not a source of trust: an agent the directory
   * does not know, or a directory that cannot answer (down, or answering nonsense), passes — the
   * key the user gave stands, and a send to an unknown agent fails on its own. A key the agent has
   * since rotated away from is followed, like a pin, along verified rotations to the directory's.
   * Returns the pin to save.
   */
  async #checkExplicitKey(agentId: string, given: Pin, retrying?: Retrying): Promise<Pin> {
    let answer: DirectoryAnswer;
    try {
      answer = await this.lookup(agentId, retrying);
    } catch (error) {
      if (isDeadDropError(error)) return given;
      throw error;
    }
    if (answer.record.agentKey === given.key) return given;
    const moved = await this.followRotation(agentId, given, answer.record);
    if (moved !== null) return moved;
    const givenKey = parseAgentKey(given.key);
    throw new DeadDropError(
      'KEY_MISMATCH',
      `the key given for "${agentId}" (fingerprint ${givenKey === null ? '?' : fingerprint(givenKey)}) is not the one ${this.relay.relayUrl} has registered for it (fingerprint ${answer.fingerprint}); check that you copied ${agentId}'s own key (\`deaddrop key ${agentId}\` on their machine), or pass --accept-key to use it anyway`,
    );
  }

  /** This identity's own key, as an explicit pin it never needs to write. */
  #ownPin(): Pin {
    return {
      key: this.#identity.agentKey,
      source: 'explicit',
      pinnedAt: this.#identity.createdAt,
    };
  }
}

function fingerprintOf(agentKey: string): string {
  const key = parseAgentKey(agentKey);
  return key === null ? '(malformed key)' : fingerprint(key);
}
