// `deaddrop reply <agent> <message-id> [<message>|-] [--file …] [--json …] [--all] [--receipt]`:
// answer a message received lately, in its thread; --all answers its whole group (PROTOCOL §6, §8).
import { MEMORY_LIMIT } from '../../message-memory.js';
import { CommandFailure, type Command } from '../command.js';
import { bodySource, readBody } from '../message-body.js';
import { openCliClient } from '../open-client.js';
import { bodyHelp, limitsFor, printGroupSent, printSent } from './send.js';

export const replyCommand: Command = {
  name: 'reply',
  synopsis:
    '<agent> <message-id> [<message>|-] [--file <path> [--type <mime>]] [--json <value>] [--all] [--receipt] [--strict]',
  summary: `answer a message received lately (the id receive and listen print, or its uid) in its thread; --all answers everyone in its group`,
  args: ['agent', 'message-id'],
  optionalArgs: ['message'],
  options: ['strict', 'file', 'type', 'json', 'receipt', 'all'],
  jsonBody: true,
  help: [
    `works for the last ${MEMORY_LIMIT} messages this agent received (remembered in its state file)`,
    ...bodyHelp,
  ],
  run: async (context, [agentId = '', messageId = '', text]) => {
    const source = bodySource(context, text);
    const client = await openCliClient(context, agentId);
    const target = await client.findReceived(messageId);
    if (target === undefined) {
      throw new CommandFailure(
        `no message "${messageId}" among those ${agentId} received lately; reply works for the last ${MEMORY_LIMIT} messages received by this agent (by the id receive and listen print, or its uid)`,
      );
    }
    const all = context.values.all === true;
    const recipients = all
      ? (target.group?.members ?? [target.from]).filter((member) => member !== agentId)
      : [target.from];
    const body = await readBody(source, context, () => limitsFor(client, recipients));
    const receipt = context.values.receipt === true;
    const content = body.kind === 'file' ? body.file : body.message;
    if (all) {
      printGroupSent(context.io, await client.replyAll(target, content, { receipt }));
      return;
    }
    printSent(context.io, await client.reply(target, content, { receipt }));
  },
};
