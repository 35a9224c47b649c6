// What the handlers are given: the store and the relay's fixed facts. Built once per relay process.
import type { Limits } from '@deaddrop/contract';
import type { AgentDirectory } from './agent-directory.js';
import type { MailboxDispatcher } from './live/dispatcher.js';
import type { MailboxStore } from './store/mailbox-store.js';

export interface RelayServices {
  readonly store: MailboxStore;
  readonly directory: AgentDirectory;
  readonly dispatcher: MailboxDispatcher;
  readonly relayId: string;
  readonly version: string;
  readonly limits: Limits;
  readonly apiKeys: readonly string[];
  readonly now: () => number;
  /** A live subscriber that accepts nothing for this long is disconnected. */
  readonly slowConsumerMs: number;
}
