// The soak's agents: the mailboxes its subscribers follow (the first few as SDK identities on disk,
// the rest as keys in memory) and the one sender, all registered on the relay before any load.
import { createIdentity, createRelayTransport, type Identity } from '@deaddrop/client';
import {
  deriveAgentKeys,
  generateSeed,
  signRegistration,
  type AgentKeys,
} from '@deaddrop/contract';
import { runPool } from '../load-support/run-pool.js';
import type { SoakRelay } from './relay-process.js';

const REGISTER_CONCURRENCY = 16;

export interface SoakAgent {
  readonly agentId: string;
  readonly keys: AgentKeys;
}

export interface SoakMailbox extends SoakAgent {
  /** Set for the mailboxes an SDK subscription follows. */
  readonly identity: Identity | undefined;
}

export async function createMailboxes({
  relay,
  count,
  sdkCount,
  home,
  tag,
}: {
  relay: SoakRelay;
  count: number;
  sdkCount: number;
  home: string;
  tag: string;
}): Promise<{ mailboxes: SoakMailbox[]; sender: SoakAgent }> {
  const mailboxes: SoakMailbox[] = [];
  for (let i = 0; i < count; i++) {
    const agentId = `soak-${tag}-${i}`;
    if (i < sdkCount) {
      const identity = await createIdentity(agentId, { relayUrl: relay.url, home });
      mailboxes.push({ agentId, keys: identity.keys, identity });
    } else {
      mailboxes.push({ agentId, keys: deriveAgentKeys(generateSeed()), identity: undefined });
    }
  }
  const sender = { agentId: `soak-${tag}-sender`, keys: deriveAgentKeys(generateSeed()) };
  const transport = createRelayTransport({
    relayUrl: relay.url,
    relayId: () => Promise.resolve(relay.relayId),
    maxBatchItems: 1,
  });
  const agents: SoakAgent[] = [sender, ...mailboxes];
  await runPool(agents.length, REGISTER_CONCURRENCY, async (i) => {
    const agent = agents[i];
    if (agent === undefined) return;
    await transport.directory.register.mutate(
      signRegistration({ relayId: relay.relayId, agentId: agent.agentId, keys: agent.keys }),
    );
  });
  return { mailboxes, sender };
}
