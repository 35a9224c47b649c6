// `deaddrop send <from> <to> <message> [--key <agentKey>]`: seal to the recipient's pinned key.
import type { SentMessage } from '../../client-types.js';
import { describePinSource } from '../../pins.js';
import type { Command } from '../command.js';
import { formatBytes } from '../format.js';
import { openCliClient } from '../open-client.js';
import { UsageError } from '../parse-args.js';

export const sendCommand: Command = {
  name: 'send',
  synopsis: '<from> <to> <message|-> [--key <agentKey>] [--strict]',
  summary: 'send a message (- reads it from stdin); --key pins the recipient key explicitly',
  args: ['from', 'to', 'message'],
  options: ['key', 'strict'],
  run: async (context, [from = '', to = '', text = '']) => {
    // The MCP tool refuses an empty message too (its schema): an empty send is a slip, such as an
    // unset shell variable, and would still wake the recipient.
    if (text === '') {
      throw new UsageError(
        'the message is empty; nothing sent (write the text to send, or - to read it from stdin)',
      );
    }
    const client = await openCliClient(context, from);
    const message = text === '-' ? (await context.io.readStdin()).replace(/\r?\n$/, '') : text;
    if (message === '') throw new UsageError('the message on stdin is empty; nothing sent');
    // To yourself the SDK seals to your own key: neither the directory nor a pin has a say.
    const toSelf = to === client.agentId && context.values.key === undefined;
    const sent = await client.sendMessage({ to, message, recipientKey: context.values.key });
    const { out } = context.io;
    out(
      toSelf
        ? `${to}: that is you; sealed to your own key, fingerprint ${sent.recipientFingerprint}`
        : `${to}: key fingerprint ${sent.recipientFingerprint} (${describePin(sent)})`,
    );
    out(`sent ${sent.id} to ${to} (${formatBytes(sent.bytes)} sealed)`);
  },
};

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
