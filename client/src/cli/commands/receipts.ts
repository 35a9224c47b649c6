// `deaddrop receipts <agent> [--json]`: the messages this agent sent asking for a delivery receipt
// (`send --receipt`), and which were acknowledged — as far as this agent's receive and listen runs
// have read receipts (they arrive as messages in its own mailbox).
import { MEMORY_LIMIT } from '../../message-memory.js';
import type { Command } from '../command.js';
import { formatTime } from '../format.js';
import { openCliClient } from '../open-client.js';

export const receiptsCommand: Command = {
  name: 'receipts',
  synopsis: '<agent> [--json]',
  summary: `delivery state of the last ${MEMORY_LIMIT} messages sent with --receipt (delivered ✓ or waiting), as far as this agent's receive/listen runs have seen receipts`,
  args: ['agent'],
  options: ['json'],
  run: async (context, [agentId = '']) => {
    const client = await openCliClient(context, agentId);
    const deliveries = await client.deliveries();
    const { out } = context.io;
    if (context.values.json === true) {
      for (const delivery of deliveries) out(JSON.stringify(delivery));
      return;
    }
    if (deliveries.length === 0) {
      context.io.err('no messages sent with --receipt remembered');
      return;
    }
    for (const delivery of deliveries) {
      const state =
        delivery.deliveredAt === undefined
          ? 'waiting'
          : `delivered ✓ at ${formatTime(delivery.deliveredAt)}`;
      out(
        `${delivery.uid} to ${delivery.to} (id ${delivery.id}, sent ${formatTime(delivery.sentAt)}): ${state}`,
      );
    }
  },
};
