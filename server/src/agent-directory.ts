// Directory reads with a process-local cache: a record changes only by a signed rotation, which
// this process forgets when it makes one (another process's rotation is noticed by mailbox auth),
// so positive answers can be kept; negative ones never are.
import type { DirectoryRecord } from '@deaddrop/contract';
import type { MailboxStore } from './store/mailbox-store.js';

const MAX_CACHED = 50_000;

export interface AgentDirectory {
  lookup(agentId: string): Promise<DirectoryRecord | null>;
  remember(record: DirectoryRecord): void;
  /** Drops what is cached for `agentId`, so the next lookup reads the store. */
  forget(agentId: string): void;
}

export function createAgentDirectory(store: MailboxStore): AgentDirectory {
  const cache = new Map<string, DirectoryRecord>();
  const remember = (record: DirectoryRecord): void => {
    if (cache.size >= MAX_CACHED) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(record.agentId, record);
  };
  return {
    remember,
    forget: (agentId) => {
      cache.delete(agentId);
    },
    async lookup(agentId) {
      const cached = cache.get(agentId);
      if (cached !== undefined) return cached;
      const record = await store.lookup(agentId);
      if (record !== null) remember(record);
      return record;
    },
  };
}
