// `deaddrop list` / `deaddrop whoami`: the identities in the home folder, with fingerprints.
import { resolveHome } from '../../home.js';
import { listIdentities } from '../../keystore.js';
import type { Command } from '../command.js';

function listCommandNamed(name: string): Command {
  return {
    name,
    synopsis: '[--json]',
    summary: 'list the identities in DEADDROP_HOME with their fingerprints',
    args: [],
    options: ['json'],
    run: async (context) => {
      const identities = await listIdentities({ home: context.home });
      const { out, err } = context.io;
      if (context.values.json === true) {
        for (const identity of identities) out(JSON.stringify(identity));
        return;
      }
      if (identities.length === 0) {
        err(
          `no identities in ${resolveHome(context.home)}; create one with: deaddrop init <agent> --server <url>`,
        );
        return;
      }
      const width = Math.max(...identities.map((identity) => identity.agentId.length));
      for (const identity of identities) {
        out(`${identity.agentId.padEnd(width)}  ${identity.fingerprint}  ${identity.relayUrl}`);
      }
    },
  };
}

export const listCommand = listCommandNamed('list');
export const whoamiCommand = listCommandNamed('whoami');
