// How every CLI command gets a client: identity from the home folder, relay URL resolved per
// PROTOCOL §1 (--server, DEADDROP_SERVER_URL, the identity's relayUrl, the default).
import { DeadDropClient } from '../client.js';
import { loadIdentity } from '../keystore.js';
import { resolveRelayUrl } from '../relay-url.js';
import type { CommandContext } from './command.js';

export async function openCliClient(
  context: CommandContext,
  agentId: string,
): Promise<DeadDropClient> {
  const identity = await loadIdentity(agentId, { home: context.home });
  return new DeadDropClient({
    identity,
    relayUrl: resolveRelayUrl({
      flag: context.values.server,
      env: context.env.serverUrl,
      identity: identity.relayUrl,
    }),
    apiKey: context.env.apiKey,
    maxMessageAgeMs: context.env.maxMessageAgeMs,
    requestTimeoutMs: context.env.requestTimeoutMs,
    requireExplicitKeys: context.values.strict === true,
  });
}
