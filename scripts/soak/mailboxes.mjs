// The soak's agents: the mailboxes its subscribers follow (the first few as SDK identities on disk,
// the rest as keys in memory) and the one sender, all registered on the relay before any load.
import { createIdentity, createRelayTransport } from '@deaddrop/client';
import { deriveAgentKeys, generateSeed, signRegistration } from '@deaddrop/contract';
import { runPool } from '../bench-live-measure.mjs';

const REGISTER_CONCURRENCY = 16;

export async function createMailboxes({ relay, count, sdkCount, home, tag }) {
  const mailboxes = [];
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
  const agents = [sender, ...mailboxes];
  await runPool(agents.length, REGISTER_CONCURRENCY, async (i) => {
    const { agentId, keys } = agents[i];
    await transport.directory.register.mutate(
      signRegistration({ relayId: relay.relayId, agentId, keys }),
    );
  });
  return { mailboxes, sender };
}
