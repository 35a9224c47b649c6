// `deaddrop key <agent>`: the agent key alone on stdout, for scripts and `send --key`.
// `deaddrop key rotate <agent>`: a signed key rotation (PROTOCOL §10), old → new fingerprint.
import { loadIdentity } from '../../keystore.js';
import type { Command } from '../command.js';
import { warnAboutExposedFiles } from '../../exposed-files.js';
import { warnOn } from '../io.js';
import { openCliClient } from '../open-client.js';
import { UsageError } from '../parse-args.js';

const USAGE = 'key <agent> | key rotate <agent>';

export const keyCommand: Command = {
  name: 'key',
  synopsis: '<agent> | rotate <agent> [--json]',
  summary: "print the agent's public key (only the key), or rotate it",
  args: ['agent'],
  // `key rotate <agent>`: with two arguments the first is the action (an agent named "rotate"
  // still prints with `key rotate`).
  optionalArgs: ['rotated'],
  options: ['json'],
  help: [
    'key rotate replaces the key: the relay checks a statement signed by the old and the new key,',
    'peers follow it (a verified chain, "key rotated" warning), and the old seed is kept in the',
    'identity file for the relay TTL + 10 min so mail sealed to the old key still opens.',
  ],
  run: async (context, [first = '', second]) => {
    if (second === undefined) {
      if (context.values.json !== undefined)
        throw new UsageError(`--json is for key rotate only; usage: deaddrop ${USAGE}`);
      const identity = await loadIdentity(first, { home: context.home });
      await warnAboutExposedFiles(warnOn(context.io), identity.home, [first]);
      context.io.out(identity.agentKey);
      return;
    }
    if (first !== 'rotate')
      throw new UsageError(`unknown key action "${first}"; usage: deaddrop ${USAGE}`);
    const client = await openCliClient(context, second);
    const rotated = await client.rotateKey();
    if (context.values.json === true) context.io.out(JSON.stringify(rotated));
    else {
      context.io.out(
        `key rotated for ${second}: ${rotated.oldFingerprint} → ${rotated.newFingerprint}`,
      );
      context.io.out(`new agent key: ${rotated.newKey}`);
    }
  },
};
