// Calls to one relay through the typed tRPC client, every failure turned into a DeadDropError (the
// relay's catalogue reason when it gave one), and the one wording for an answer that breaks the
// protocol in a way only the caller can see.
import { DeadDropError, isDeadDropError } from './errors.js';
import { toDeadDropError } from './relay-error.js';
import type { RelayClient } from './transport.js';

/**
 * Answers a relay that no longer knows this client's agent (AGENT_NOT_REGISTERED: its store lost
 * the directory, PROTOCOL §10) by registering the identity again; throws when it cannot.
 */
export type Reregister = (refusal: DeadDropError) => Promise<void>;

export class RelayCalls {
  constructor(
    readonly relay: RelayClient,
    readonly relayUrl: string,
    private readonly reregister?: Reregister,
  ) {}

  /** Runs `fn`; a mailbox call refused as AGENT_NOT_REGISTERED re-registers and runs once more. */
  async call<T>(fn: (relay: RelayClient) => Promise<T>): Promise<T> {
    try {
      return await this.once(fn);
    } catch (error) {
      if (this.reregister === undefined || !isDeadDropError(error, 'AGENT_NOT_REGISTERED')) {
        throw error;
      }
      await this.reregister(error);
      return this.once(fn);
    }
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
