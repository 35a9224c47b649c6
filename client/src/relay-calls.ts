// Calls to one relay through the typed tRPC client, every failure turned into a DeadDropError (the
// relay's catalogue reason when it gave one), and the one wording for an answer that breaks the
// protocol in a way only the caller can see.
import { DeadDropError } from './errors.js';
import { toDeadDropError } from './relay-error.js';
import type { RelayClient } from './transport.js';

export class RelayCalls {
  constructor(
    readonly relay: RelayClient,
    readonly relayUrl: string,
  ) {}

  async call<T>(fn: (relay: RelayClient) => Promise<T>): Promise<T> {
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
