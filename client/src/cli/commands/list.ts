// `deaddrop list` / `deaddrop whoami`: the identities in the home folder, with fingerprints. A file
// that should be an identity but cannot be read is reported, not skipped in silence: it may be the
// only copy of an agent's secret key. The command fails only when such files are all there is.
import { DeadDropError } from '../../errors.js';
import { resolveHome } from '../../home.js';
import { scanIdentities } from '../../keystore.js';
import type { Command } from '../command.js';
import { warnAboutExposedFiles } from '../../exposed-files.js';
import { warnOn } from '../io.js';

function listCommandNamed(name: string): Command {
  return {
    name,
    synopsis: '[--json]',
    summary: 'list the identities in DEADDROP_HOME with their fingerprints',
    args: [],
    options: ['json'],
    run: async (context) => {
      const home = resolveHome(context.home);
      const { identities, damaged } = await scanIdentities({ home });
      const { out, err } = context.io;
      for (const problem of damaged) err(`warning: ${problem.message}; skipped`);
      await warnAboutExposedFiles(
        warnOn(context.io),
        home,
        identities.map((identity) => identity.agentId),
      );
      if (identities.length === 0 && damaged.length > 0) {
        throw new DeadDropError(
          'IDENTITY_CORRUPT',
          `no readable identity in ${home}: ${damaged.length} damaged file(s), listed above`,
        );
      }
      if (context.values.json === true) {
        for (const identity of identities) out(JSON.stringify(identity));
        return;
      }
      if (identities.length === 0) {
        err(`no identities in ${home}; create one with: deaddrop init <agent> --server <url>`);
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
