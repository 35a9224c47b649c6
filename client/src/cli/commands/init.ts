// `deaddrop init <agent> --server <url>`: create an identity, register it, show its key.
import { DeadDropClient } from '../../client.js';
import { warnAboutExposedFiles } from '../../exposed-files.js';
import type { DeadDropError } from '../../errors.js';
import { isDeadDropError } from '../../errors.js';
import { createIdentity, removeIdentity, type Identity } from '../../keystore.js';
import { resolveRelayUrl } from '../../relay-url.js';
import { CommandFailure, type Command, type CommandContext } from '../command.js';
import { warnOn } from '../io.js';
import { openCliClient } from '../open-client.js';

/**
 * `init` never overwrites an identity; when the existing one's relay has forgotten it (its store
 * was lost), the refusal says how to get it back rather than only refusing. Anything that cannot
 * be checked leaves the plain refusal.
 */
async function refuseExisting(
  context: CommandContext,
  agentId: string,
  exists: DeadDropError,
): Promise<never> {
  let client;
  try {
    client = await openCliClient(context, agentId);
    await client.lookup(agentId);
  } catch (error) {
    if (client !== undefined && isDeadDropError(error, 'AGENT_NOT_FOUND')) {
      throw new CommandFailure(
        `an identity "${agentId}" already exists, and the relay at ${client.relayUrl} does not know it (it may have lost its store): run \`deaddrop register ${agentId}\` to register it again`,
      );
    }
  }
  throw exists;
}

export const initCommand: Command = {
  name: 'init',
  synopsis: '<agent> --server <url>',
  summary: 'create an identity, register it on the relay, print its agent key and fingerprint',
  args: ['agent'],
  options: [],
  run: async (context, [agentId = '']) => {
    const relayUrl = resolveRelayUrl({ flag: context.values.server, env: context.env.serverUrl });
    let identity: Identity;
    try {
      identity = await createIdentity(agentId, { home: context.home, relayUrl });
    } catch (error) {
      if (isDeadDropError(error, 'IDENTITY_EXISTS')) await refuseExisting(context, agentId, error);
      throw error;
    }
    // Said now, before the identity is used: a home others can write to can have it replaced.
    await warnAboutExposedFiles(warnOn(context.io), identity.home, [agentId]);
    const client = new DeadDropClient({ identity, relayUrl, apiKey: context.env.apiKey });
    try {
      await client.register();
    } catch (error) {
      // Never used, so nothing is lost: removing it lets `init` be retried as is.
      await removeIdentity(identity);
      throw error;
    }
    const { out } = context.io;
    out(`registered ${agentId} on ${relayUrl}`);
    out(`agent key:   ${identity.agentKey}`);
    out(`fingerprint: ${identity.fingerprint}`);
    out('share the agent key (or check the fingerprint) with your contacts out of band');
  },
};
