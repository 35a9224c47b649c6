// `deaddrop stats <agent>`: what is waiting in the mailbox, and the relay's limits.
import type { Command } from '../command.js';
import { formatBytes } from '../format.js';
import { openCliClient } from '../open-client.js';

export const statsCommand: Command = {
  name: 'stats',
  synopsis: '<agent> [--json]',
  summary:
    'count and size of the messages waiting, the relay limits, and what fits in one message (bytes of file data, of text)',
  args: ['agent'],
  options: ['json'],
  run: async (context, [agentId = '']) => {
    const client = await openCliClient(context, agentId);
    const stats = await client.stats();
    const fits = await client.limits();
    const { out } = context.io;
    if (context.values.json === true) {
      out(JSON.stringify({ ...stats, fits }));
      return;
    }
    const { limits } = stats;
    out(`mailbox ${stats.agentId} on ${client.relayUrl}`);
    out(`messages: ${stats.count} (${formatBytes(stats.bytes)})`);
    if (stats.oldestId !== null && stats.newestId !== null) {
      out(`ids: ${stats.oldestId} … ${stats.newestId}`);
    }
    out(
      `limits: ${limits.maxMessages} messages, ${formatBytes(limits.maxMessageBytes)} each, kept ${limits.ttlSeconds} s`,
    );
    // The sealed limit in plaintext terms: what a sender can actually put in one message.
    out(`fits: ${fits.fileBytes} bytes of file data, ${fits.textBytes} of text`);
  },
};
