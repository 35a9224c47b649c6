// `deaddrop send <from> <to>[,<to>…] [<message>|-] [--file <path> [--type <mime>]] [--json <value>]
// [--receipt] [--key <agentKey>]`: seal to each recipient's pinned key. A comma list is a group
// send (PROTOCOL §8): one line per recipient, exit 1 if any copy failed.
import type { GroupSent, MessageLimits, SentMessage } from '../../client-types.js';
import type { DeadDropClient } from '../../client.js';
import { DeadDropError } from '../../errors.js';
import { describePinSource } from '../../pins.js';
import type { Command } from '../command.js';
import { formatBytes } from '../format.js';
import type { CliIo } from '../io.js';
import { bodySource, readBody, type CliBody } from '../message-body.js';
import { openCliClient } from '../open-client.js';
import { UsageError } from '../parse-args.js';

/** The `--help` lines send and reply share: the body sources and where the limits are. */
export const bodyHelp: readonly string[] = [
  'exactly one body: <message>, - (UTF-8 text on stdin), --file <path> (--file -: bytes on stdin;',
  '  type from the extension, or --type <mime>; the name sent is the base name) or --json <value>',
  'what fits in one message is the relay limit after padding, sealing and base64: `deaddrop stats',
  '  <agent>` prints it in plaintext terms (bytes of file data, bytes of text); --receipt asks for',
  '  a delivery receipt (see deaddrop receipts)',
];

export const sendCommand: Command = {
  name: 'send',
  synopsis:
    '<from> <to>[,<to>…] [<message>|-] [--file <path> [--type <mime>]] [--json <value>] [--receipt] [--key <agentKey> [--accept-key]] [--strict]',
  summary:
    'send a message (- reads text from stdin) or a file; a comma list of recipients is a group send; --key pins the recipient key explicitly (refused when the relay directory holds another, unless --accept-key)',
  args: ['from', 'to'],
  optionalArgs: ['message'],
  options: ['key', 'accept-key', 'strict', 'file', 'type', 'json', 'receipt'],
  jsonBody: true,
  help: bodyHelp,
  run: async (context, [from = '', to = '', text]) => {
    const source = bodySource(context, text);
    const recipients = to.split(',');
    const group = recipients.length > 1;
    if (group && context.values.key !== undefined) {
      throw new UsageError('--key pins one recipient; a group send pins each on first contact');
    }
    const client = await openCliClient(context, from);
    const body = await readBody(source, context, () => limitsFor(client, recipients));
    const receipt = context.values.receipt === true;
    if (group) {
      const sent = await client.sendMessage({ to: recipients, receipt, ...contentOf(body) });
      printGroupSent(context.io, sent);
      return;
    }
    // To yourself the SDK seals to your own key: neither the directory nor a pin has a say.
    const toSelf = to === client.agentId && context.values.key === undefined;
    const sent = await client.sendMessage({
      to,
      recipientKey: context.values.key,
      acceptKey: context.values['accept-key'],
      receipt,
      ...contentOf(body),
    });
    printSent(context.io, sent, toSelf);
  },
};

/** What fits in one message to every recipient: the smallest of their limits. */
export async function limitsFor(
  client: DeadDropClient,
  recipients: readonly string[],
): Promise<MessageLimits> {
  let smallest: MessageLimits | undefined;
  for (const to of new Set(recipients)) {
    const limits = await client.limits(to);
    if (smallest === undefined || limits.fileBytes < smallest.fileBytes) smallest = limits;
  }
  return smallest ?? client.limits();
}

function contentOf(body: CliBody) {
  return body.kind === 'file' ? body.file : { message: body.message };
}

export function printSent(io: CliIo, sent: SentMessage, toSelf = false): void {
  io.out(
    toSelf
      ? `${sent.to}: that is you; sealed to your own key, fingerprint ${sent.recipientFingerprint}`
      : `${sent.to}: key fingerprint ${sent.recipientFingerprint} (${describePin(sent)})`,
  );
  io.out(`sent ${sent.id} to ${sent.to} (${formatBytes(sent.bytes)} sealed, ${secrecy(sent)})`);
}

/** Whether a stolen identity seed would open the message later (PROTOCOL §10). */
function secrecy(sent: SentMessage): string {
  return sent.forwardSecret
    ? 'forward secret: sealed to a one-time prekey'
    : 'not forward secret: sealed to the identity key';
}

/** One line per recipient (after its key line); throws, for exit 1, if any copy failed. */
export function printGroupSent(io: CliIo, sent: GroupSent): void {
  io.out(`group ${sent.groupId}: ${sent.members.join(', ')}`);
  const failed: DeadDropError[] = [];
  const names: string[] = [];
  for (const result of sent.results) {
    if (result.ok) printSent(io, result.sent);
    else {
      failed.push(result.error);
      names.push(result.to);
      io.out(`not sent to ${result.to}: ${result.error.message}`);
    }
  }
  const [first] = failed;
  if (first === undefined) return;
  const sentCount = sent.results.length - failed.length;
  throw new DeadDropError(
    first.reason,
    `not sent to ${names.join(', ')} (${failed.length} of ${sent.results.length}); ${sentCount === 0 ? 'nothing was sent' : `sent to the other ${sentCount}`}`,
  );
}

function describePin(sent: SentMessage): string {
  const source = describePinSource(sent.pinSource);
  switch (sent.pinChange) {
    case 'new':
      return sent.pinSource === 'directory'
        ? `pinned now from the ${source} on first contact; compare this fingerprint with ${sent.to} out of band`
        : `pinned now from the ${source}`;
    case 'replaced':
      return `pin replaced with the ${source}`;
    case 'none':
      return `matches your pin from the ${source}`;
  }
}
