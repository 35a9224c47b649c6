// `deaddrop proof <agent> <scope>`: one mailbox proof (PROTOCOL §3.4) as the value of an
// `authorization` header, for scripts that call the relay with curl or any HTTP client:
// `curl -H "authorization: $(deaddrop proof alice stats)" …`. Each one is good for one request
// (its nonce is recorded) within the relay's auth window.
import {
  RELAY_ID_PATTERN,
  SCOPE_WEBSOCKET,
  createProof,
  encodeAuthorization,
} from '@deaddrop/contract';
import { warnAboutExposedFiles } from '../../exposed-files.js';
import { loadIdentity, type Identity } from '../../keystore.js';
import { isMailboxProcedure, mailboxProcedurePaths } from '../../transport.js';
import { closestName } from '../closest-name.js';
import type { Command, CommandContext } from '../command.js';
import { warnOn } from '../io.js';
import { openCliClient } from '../open-client.js';
import { UsageError } from '../parse-args.js';

export const proofCommand: Command = {
  name: 'proof',
  synopsis: '<agent> <scope> [--relay-id <id>]',
  summary:
    'print a fresh signed mailbox proof, the value of an authorization header, for one request by a script',
  args: ['agent', 'scope'],
  options: ['relay-id'],
  help: [
    'The scope is what the request calls: a procedure path that reads the mailbox (stats, poll,',
    'delete, inbox, hooks.get, …), several joined by "," for one tRPC batch (stats,poll), or ws',
    'for a WebSocket. Each proof is good for one request, within the relay auth window (60 s by',
    "default). The relay id it is bound to comes from the relay's info, or --relay-id (no call).",
    'curl -H "authorization: $(deaddrop proof alice stats)" http://127.0.0.1:8000/…',
  ],
  run: async (context, [agentId = '', scope = '']) => {
    checkScope(scope);
    const given = context.values['relay-id'];
    if (given !== undefined && !RELAY_ID_PATTERN.test(given)) {
      throw new UsageError(
        `--relay-id must be 1–64 characters of [A-Za-z0-9._-] (got "${given}"); the relay's info shows its id`,
      );
    }
    const { keys, relayId } =
      given === undefined
        ? await signerFromRelay(context, agentId)
        : { keys: (await loadOwnIdentity(context, agentId)).keys, relayId: given };
    context.io.out(encodeAuthorization(createProof({ relayId, agentId, keys, scope })));
  },
};

/** The agent's keys, and the id of its relay from the relay's `info`. */
async function signerFromRelay(
  context: CommandContext,
  agentId: string,
): Promise<{ keys: Identity['keys']; relayId: string }> {
  const client = await openCliClient(context, agentId);
  const { relayId } = await client.info();
  return { keys: client.identity.keys, relayId };
}

async function loadOwnIdentity(context: CommandContext, agentId: string): Promise<Identity> {
  const identity = await loadIdentity(agentId, { home: context.home });
  await warnAboutExposedFiles(warnOn(context.io), identity.home, [agentId]);
  return identity;
}

/** A scope no relay procedure would accept fails here, where the mistake is, not at the relay. */
function checkScope(scope: string): void {
  if (scope === SCOPE_WEBSOCKET) return;
  const paths = mailboxProcedurePaths();
  for (const part of scope.split(',')) {
    if (isMailboxProcedure(part)) continue;
    const meant = closestName(part, [...paths, SCOPE_WEBSOCKET]);
    throw new UsageError(
      `"${part}" is not a scope: a procedure that reads the mailbox (${paths.join(', ')}), several joined by "," for one batch, or ws alone${meant === undefined ? '' : ` (did you mean "${meant}"?)`}`,
    );
  }
}
