// What every tool works with: the agent's client, its inbox queue, and its registration on the
// relay — attempted at start, and again before a tool call if the relay was unreachable then.
import type { DeadDropClient } from '@deaddrop/client';
import { InboxQueue } from './inbox-queue.js';

export class AgentContext {
  readonly queue: InboxQueue;
  #registered: Promise<void> | undefined;

  constructor(readonly client: DeadDropClient) {
    this.queue = new InboxQueue(client);
  }

  get agentId(): string {
    return this.client.agentId;
  }

  /** Registers the agent once; a failure is reported to the caller and retried on the next call. */
  ready(): Promise<void> {
    this.#registered ??= this.client.register().then(
      () => undefined,
      (error: unknown) => {
        this.#registered = undefined;
        throw error;
      },
    );
    return this.#registered;
  }
}
