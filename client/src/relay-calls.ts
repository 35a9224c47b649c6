// Calls to one relay through the typed tRPC client, every failure turned into a DeadDropError (the
// relay's catalogue reason when it gave one), and the one wording for an answer that breaks the
// protocol in a way only the caller can see.
import { AsyncLocalStorage } from 'node:async_hooks';
import { DeadDropError, isDeadDropError } from './errors.js';
import { toDeadDropError } from './relay-error.js';
import type { RelayClient } from './transport.js';

/** How a client answers mailbox refusals that it can fix, then retries the call once. */
export interface Recovery {
  /**
   * AGENT_NOT_REGISTERED (the relay's store lost the directory, PROTOCOL §10): registers the
   * identity again; throws when it cannot.
   */
  readonly reregister: (refusal: DeadDropError) => Promise<void>;
  /** The agent key mailbox proofs are signed with now. */
  readonly signingKey: () => string;
  /**
   * AUTH_BAD_SIGNATURE: brings the identity up to date with its file (another process rotated the
   * key, or a rotation the relay made was never finished in the file). The call is retried only
   * when the signing key changed.
   */
  readonly catchUp: (refusal: DeadDropError) => Promise<void>;
}

export class RelayCalls {
  /**
   * Set while a recovery runs, for everything it awaits: a call it makes (registering tops up
   * prekeys with a mailbox call) must not wait for the recovery under way — itself — nor start one.
   */
  readonly #recovering = new AsyncLocalStorage<true>();

  constructor(
    readonly relay: RelayClient,
    readonly relayUrl: string,
    private readonly recovery?: Recovery,
  ) {}

  /**
   * Runs `fn`; a mailbox call refused as AGENT_NOT_REGISTERED re-registers, one refused as
   * AUTH_BAD_SIGNATURE catches up with the identity file, and either runs once more. Within a
   * recovery (`withoutRecovery`) it is `once`.
   */
  async call<T>(fn: (relay: RelayClient) => Promise<T>): Promise<T> {
    const recovery = this.recovery;
    if (recovery === undefined || this.#recovering.getStore() === true) return this.once(fn);
    const signedWith = recovery.signingKey();
    try {
      return await this.once(fn);
    } catch (error) {
      if (isDeadDropError(error, 'AGENT_NOT_REGISTERED')) {
        await this.reregister(error);
      } else if (isDeadDropError(error, 'AUTH_BAD_SIGNATURE')) {
        await this.withoutRecovery(() => recovery.catchUp(error));
        if (recovery.signingKey() === signedWith) throw error;
      } else {
        throw error;
      }
      return this.once(fn);
    }
  }

  /** Registers the identity again (for refusals met outside `call`: a live inbox's). */
  reregister(refusal: DeadDropError): Promise<void> {
    const recovery = this.recovery;
    if (recovery === undefined) return Promise.reject(refusal);
    return this.withoutRecovery(() => recovery.reregister(refusal));
  }

  /** Runs `work` with every `call` it makes a plain `once`: no re-registration, no catch-up. */
  withoutRecovery<T>(work: () => Promise<T>): Promise<T> {
    return this.#recovering.run(true, work);
  }

  /** Runs `fn` with no re-registration: for registering itself, which a refusal must not loop. */
  async once<T>(fn: (relay: RelayClient) => Promise<T>): Promise<T> {
    try {
      return await fn(this.relay);
    } catch (error) {
      throw toDeadDropError(error, this.relayUrl);
    }
  }

  invalidResponse(problem: string): DeadDropError {
    return new DeadDropError(
      'RELAY_INVALID_RESPONSE',
      `the relay at ${this.relayUrl} misbehaved: ${problem}`,
    );
  }
}
