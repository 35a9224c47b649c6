// `deaddrop key <agent>`: the agent key alone on stdout, for scripts and `send --key`.
import { loadIdentity } from '../../keystore.js';
import type { Command } from '../command.js';
import { warnAboutExposedFiles } from '../../exposed-files.js';
import { warnOn } from '../io.js';

export const keyCommand: Command = {
  name: 'key',
  synopsis: '<agent>',
  summary: "print the agent's public key (only the key)",
  args: ['agent'],
  options: [],
  run: async (context, [agentId = '']) => {
    const identity = await loadIdentity(agentId, { home: context.home });
    await warnAboutExposedFiles(warnOn(context.io), identity.home, [agentId]);
    context.io.out(identity.agentKey);
  },
};
