// `deaddrop send <from> <to> <message> [--key <agentKey>]`: seal to the recipient's pinned key.
import type { SentMessage } from '../../client-types.js';
import { describePinSource } from '../../pins.js';
import type { Command } from '../command.js';
import { formatBytes } from '../format.js';
import { openCliClient } from '../open-client.js';

export const sendCommand: Command = {
  name: 'send',
  synopsis: '<from> <to> <message|-> [--key <agentKey>] [--strict]',
  summary: 'send a message (- reads it from stdin); --key pins the recipient key explicitly',
  args: ['from', 'to', 'message'],
  options: ['key', 'strict'],
  run: async (context, [from = '', to = '', text = '']) => {
    const client = await openCliClient(context, from);
    const message = text === '-' ? (await context.io.readStdin()).replace(/\r?\n$/, '') : text;
    const sent = await client.sendMessage({ to, message, recipientKey: context.values.key });
    const { out } = context.io;
    out(`${to}: key fingerprint ${sent.recipientFingerprint} (${describePin(sent)})`);
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
