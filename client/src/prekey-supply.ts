// One-time prekeys on both sides (PROTOCOL §10). As a recipient, an agent keeps the relay
// stocked: 50 at registration, 50 more whenever fewer than 20 remain — each secret written to
// agents/<id>.prekeys.json before its prekey is published, so no claimed prekey lacks its secret.
// As a sender, it claims one prekey per message (never ahead of need: a claimed prekey is gone for
// every sender) and checks it against the recipient's pinned key.
import {
  PREKEYS_HELD_MAX,
  PUBLISH_PREKEYS_MAX,
  generatePrekey,
  toB64u,
  verifyPrekey,
  type AgentKeys,
  type AgentPublicKey,
  type Prekey,
} from '@deaddrop/contract';
import { DeadDropError, isDeadDropError } from './errors.js';
import type { PrekeySecrets } from './prekey-secrets.js';
import type { RelayCalls } from './relay-calls.js';

/** Published at registration, and per top-up. */
export const PREKEY_BATCH = 50;
/** Fewer than this left on the relay: publish another batch. */
export const PREKEY_LOW_WATER = 20;

/** What a send seals to: a verified prekey, or why it falls back to the identity key (v1). */
export type ClaimedPrekey =
  | { readonly prekey: Prekey; readonly remaining: number }
  | { readonly prekey: null; readonly why: 'none-left' | 'unavailable' };

export interface PrekeySupplyOptions {
  readonly agentId: string;
  /** The identity's keys now: a rotation replaces them, and prekeys are signed by the current. */
  readonly keys: () => AgentKeys;
  readonly calls: RelayCalls;
  readonly secrets: PrekeySecrets;
  readonly now: () => number;
  /** A top-up that failed (it is retried at the next chance); never thrown at a caller. */
  readonly onError: (error: unknown) => void;
}

/**
 * While forward-secret mail is being read, the relay's count is asked at most this often (and at
 * once when the estimate runs low): other senders' claims — a drain among them — are seen only so.
 */
const RECHECK_AFTER_MS = 5_000;

export class PrekeySupply {
  readonly #options: PrekeySupplyOptions;
  /** One top-up at a time; a v2 message read meanwhile is counted by the one under way. */
  #toppingUp: Promise<void> | undefined;
  /**
   * How many prekeys the relay holds, as of the last count less the v2 messages read since (other
   * senders' claims whose mail never came are not seen: hence the recheck).
   */
  #estimate: { held: number; at: number } | undefined;
  /** When reading mail last asked the relay's count. */
  #checkedOnReadAt = Number.NEGATIVE_INFINITY;

  constructor(options: PrekeySupplyOptions) {
    this.#options = options;
  }

  /**
   * Publishes a batch when the relay holds fewer than PREKEY_LOW_WATER (at registration, and after
   * reading forward-secret mail). Returns how many the relay holds after, or undefined for a relay
   * without prekeys (one older than PROTOCOL §10).
   */
  async topUp(): Promise<number | undefined> {
    const { calls } = this.#options;
    const stats = await calls.call((relay) => relay.stats.query());
    const held = stats.prekeys;
    if (held === undefined || held >= PREKEY_LOW_WATER) {
      this.#estimate = held === undefined ? undefined : { held, at: this.#options.now() };
      return held;
    }
    const count = Math.min(PREKEY_BATCH, PREKEYS_HELD_MAX - held, PUBLISH_PREKEYS_MAX);
    const generated = Array.from({ length: count }, () =>
      generatePrekey(this.#options.agentId, this.#options.keys()),
    );
    await this.#options.secrets.add(
      generated.map(({ prekey, secretKey }) => ({
        id: prekey.id,
        key: prekey.key,
        secretKey: toB64u(secretKey),
        createdAt: this.#options.now(),
      })),
    );
    const published = await calls.call((relay) =>
      relay.directory.publishPrekeys.mutate({ prekeys: generated.map(({ prekey }) => prekey) }),
    );
    this.#estimate = { held: published.total, at: this.#options.now() };
    return published.total;
  }

  /** A forward-secret message was read: its prekey is used up; top up when running low. */
  opened(): void {
    const estimate = this.#estimate;
    if (estimate !== undefined) estimate.held -= 1;
    const now = this.#options.now();
    const low = estimate === undefined || estimate.held < PREKEY_LOW_WATER;
    if (!low && now - this.#checkedOnReadAt < RECHECK_AFTER_MS) return;
    this.#checkedOnReadAt = now;
    this.topUpSoon();
  }

  /** `topUp()` in the background, at most one at a time; failures go to `onError`. */
  topUpSoon(): void {
    if (this.#toppingUp !== undefined) return;
    this.#toppingUp = this.topUp()
      .then(
        () => undefined,
        (error: unknown) => {
          this.#options.onError(error);
        },
      )
      .finally(() => {
        this.#toppingUp = undefined;
      });
  }

  /** Waits for a top-up under way (tests, close). */
  settled(): Promise<void> {
    return this.#toppingUp ?? Promise.resolve();
  }

  /**
   * Claims one prekey of `to`. A relay that has none left, limits the claims, or predates
   * prekeys makes the send fall back to v1: draining prekeys may downgrade a message, never stop
   * it. A malformed prekey (refused by the answer check) is forged, never a fallback. Whether a
   * well-formed prekey is `to`'s is `verifyClaimed`'s question, once the key to judge by is known.
   * A claim still unanswered when `signal` aborts is one the relay did not serve.
   */
  async claim(to: string, signal: AbortSignal): Promise<ClaimedPrekey> {
    try {
      const claimed = await this.#options.calls.call((relay) =>
        relay.directory.claimPrekey.mutate({ agentId: to }, { signal }),
      );
      return claimed.prekey === null
        ? { prekey: null, why: 'none-left' }
        : { prekey: claimed.prekey, remaining: claimed.remaining };
    } catch (error) {
      if (isDeadDropError(error, 'PREKEY_INVALID')) {
        throw new DeadDropError(
          'PREKEY_INVALID',
          `the relay handed out a malformed one-time prekey for "${to}"; nothing was sent (${error.message})`,
          { cause: error },
        );
      }
      if (isDeadDropError(error)) return { prekey: null, why: 'unavailable' };
      throw error;
    }
  }
}

/**
 * Refuses a claimed prekey not signed by `recipientKey` for `to`: a relay handing out its own
 * prekeys could read the message, so a bad signature is an error, never a reason to fall back.
 */
export function verifyClaimed(to: string, prekey: Prekey, recipientKey: AgentPublicKey): void {
  if (verifyPrekey(to, prekey, recipientKey)) return;
  throw new DeadDropError(
    'PREKEY_INVALID',
    `the relay handed out a one-time prekey for "${to}" that is not signed by the key pinned for ${to}; nothing was sent`,
  );
}
