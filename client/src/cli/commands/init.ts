// `deaddrop init <agent> --server <url>`: create an identity, register it, show its key.
import { DeadDropClient } from '../../client.js';
import { warnAboutExposedFiles } from '../../exposed-files.js';
import { createIdentity, removeIdentity } from '../../keystore.js';
import { resolveRelayUrl } from '../../relay-url.js';
import type { Command } from '../command.js';
import { warnOn } from '../io.js';

export const initCommand: Command = {
  name: 'init',
  synopsis: '<agent> --server <url>',
  summary: 'create an identity, register it on the relay, print its agent key and fingerprint',
  args: ['agent'],
  options: [],
  run: async (context, [agentId = '']) => {
    const relayUrl = resolveRelayUrl({ flag: context.values.server, env: context.env.serverUrl });
    const identity = await createIdentity(agentId, { home: context.home, relayUrl });
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
