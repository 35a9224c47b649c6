// Directory reads with a process-local cache of positive answers (negative ones are never kept).
// The cache only picks the key a proof is verified with: recording the proof's nonce checks that
// key against the store in the same step (MailboxStore.useNonce), and mailbox auth forgets a
// record the store no longer holds as cached (lost store, another process's rotation; PROTOCOL
// §10). A rotation this process makes forgets the record at once.
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
    forget(agentId) {
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
