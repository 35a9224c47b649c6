// `deaddrop register <agent>`: registers an existing identity on its relay again, for a relay whose
// store lost it (a Redis restarted without persistence, a restored backup; PROTOCOL §10). Says
// which it was: registered now, already registered, or taken by another key.
import { isDeadDropError } from '../../errors.js';
import type { DeadDropClient } from '../../client.js';
import { CommandFailure, type Command } from '../command.js';
import { openCliClient } from '../open-client.js';

/** What the directory holds for the client's own id, before registering. */
async function directoryKey(client: DeadDropClient): Promise<string | null> {
  try {
    return (await client.lookup(client.agentId)).agentKey;
  } catch (error) {
    if (isDeadDropError(error, 'AGENT_NOT_FOUND')) return null;
    throw error;
  }
}

export const registerCommand: Command = {
  name: 'register',
  synopsis: '<agent>',
  summary:
    'register an existing identity on its relay again (after the relay lost its store); says whether it was registered, already registered, or taken',
  args: ['agent'],
  options: [],
  run: async (context, [agentId = '']) => {
    const client = await openCliClient(context, agentId);
    const before = await directoryKey(client);
    // Another key in the directory may still be this identity's: one its file holds as a rotation
    // an earlier run began and did not finish. `register()` looks there before calling it taken.
    try {
      await client.register();
    } catch (error) {
      if (!isDeadDropError(error, 'AGENT_ID_TAKEN')) throw error;
      throw new CommandFailure(
        `agent id "${agentId}" is taken on ${client.relayUrl} by another key; this identity cannot use it there (create one with another id)`,
      );
    }
    const { out } = context.io;
    out(
      before === null
        ? `registered ${agentId} on ${client.relayUrl}`
        : `${agentId} is already registered on ${client.relayUrl}`,
    );
    out(`fingerprint: ${client.fingerprint}`);
  },
};
