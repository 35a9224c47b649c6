// What every tool works with: the agent's client, its inbox and receipt queues, where received
// files are saved, and its registration on the relay — attempted at start, and again before a tool
// call if the relay was unreachable then.
import type { DeadDropClient } from '@deaddrop/client';
import { InboxQueue } from './inbox-queue.js';
import { ReceiptQueue } from './receipt-queue.js';

export class AgentContext {
  readonly queue: InboxQueue;
  #registered: Promise<void> | undefined;

  /** `receipts` is the queue the client's `onReceipt` fills; `saveDir` is MCP_SAVE_DIR. */
  constructor(
    readonly client: DeadDropClient,
    readonly saveDir: string,
    readonly receipts: ReceiptQueue = new ReceiptQueue(),
  ) {
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
