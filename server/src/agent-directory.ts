// Directory reads with a process-local cache: a registration never changes once made (rotation is
// a later, signed feature), so positive answers can be kept; negative ones never are.
import type { AgentRecord } from '@deaddrop/contract';
import type { MailboxStore } from './store/mailbox-store.js';

const MAX_CACHED = 50_000;

export interface AgentDirectory {
  lookup(agentId: string): Promise<AgentRecord | null>;
  remember(record: AgentRecord): void;
}

export function createAgentDirectory(store: MailboxStore): AgentDirectory {
  const cache = new Map<string, AgentRecord>();
  const remember = (record: AgentRecord): void => {
    if (cache.size >= MAX_CACHED) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(record.agentId, record);
  };
  return {
    remember,
    async lookup(agentId) {
      const cached = cache.get(agentId);
      if (cached !== undefined) return cached;
      const record = await store.lookup(agentId);
      if (record !== null) remember(record);
      return record;
    },
  };
}
