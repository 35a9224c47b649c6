// `deaddrop hook set|get|clear <agent>`: the mailbox's wake-up webhook (PROTOCOL §9). `set` prints
// a generated secret once, on stdout only: the receiving function needs it to verify notices.
import type { HookStatus } from '@deaddrop/contract';
import type { Command } from '../command.js';
import { openCliClient } from '../open-client.js';
import { UsageError } from '../parse-args.js';

const USAGE = 'hook set <agent> <url> [--secret <secret>] | hook get <agent> | hook clear <agent>';

function describeStatus(hook: HookStatus): string[] {
  const lines = [`url: ${hook.url}`, `set: ${new Date(hook.createdAt).toISOString()}`];
  if (hook.lastDeliveryAt === null) lines.push('last notice: none yet');
  else
    lines.push(
      `last notice: ${new Date(hook.lastDeliveryAt).toISOString()} (${hook.lastStatus === null ? 'no answer' : `HTTP ${hook.lastStatus}`})`,
    );
  lines.push(`failures in a row: ${hook.failures}`);
  if (hook.disabled) lines.push('disabled after too many failures: set it again to resume');
  return lines;
}

export const hookCommand: Command = {
  name: 'hook',
  synopsis: 'set|get|clear <agent> [<url>] [--secret <secret>] [--json]',
  summary: 'set, show or clear the webhook the relay notifies when mail arrives',
  args: ['action', 'agent'],
  optionalArgs: ['url'],
  options: ['json', 'secret'],
  run: async (context, [action = '', agentId = '', url]) => {
    if (action !== 'set' && action !== 'get' && action !== 'clear')
      throw new UsageError(`unknown hook action "${action}"; usage: deaddrop ${USAGE}`);
    if ((action === 'set') !== (url !== undefined))
      throw new UsageError(`usage: deaddrop ${USAGE}`);
    if (action !== 'set' && context.values.secret !== undefined)
      throw new UsageError(`--secret is for hook set only; usage: deaddrop ${USAGE}`);
    const client = await openCliClient(context, agentId);
    const { out } = context.io;
    const json = context.values.json === true;
    switch (action) {
      case 'set': {
        const given = context.values.secret;
        const hook = await client.setHook(url ?? '', given);
        // A secret the user gave is not echoed; a generated one is shown this once.
        const secret = given === undefined ? { secret: hook.secret } : {};
        if (json) out(JSON.stringify({ url: hook.url, createdAt: hook.createdAt, ...secret }));
        else {
          out(`webhook set for ${agentId}: ${hook.url}`);
          if (given === undefined)
            out(
              `secret (shown once; the receiving function verifies notices with it): ${hook.secret}`,
            );
        }
        return;
      }
      case 'get': {
        const hook = await client.getHook();
        if (json) out(JSON.stringify(hook));
        else if (hook === null) out(`no webhook set for ${agentId}`);
        else for (const line of describeStatus(hook)) out(line);
        return;
      }
      case 'clear': {
        const result = await client.clearHook();
        if (json) out(JSON.stringify(result));
        else
          out(
            result.cleared ? `webhook cleared for ${agentId}` : `no webhook was set for ${agentId}`,
          );
        return;
      }
    }
  },
};
