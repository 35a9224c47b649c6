// `deaddrop receive <agent> [--wait <s>] [--json] [--keep]`: print messages after the saved
// cursor, advance it, and delete what was printed from the relay unless --keep.
import { PROTOCOL_LIMITS } from '@deaddrop/contract';
import type { Command } from '../command.js';
import { entryPrinter } from '../format.js';
import { openCliClient } from '../open-client.js';
import { UsageError } from '../parse-args.js';

export const receiveCommand: Command = {
  name: 'receive',
  synopsis: '<agent> [--wait <s>] [--json] [--keep] [--strict]',
  summary: 'print new messages (--json: one object per line), then delete them unless --keep',
  args: ['agent'],
  options: ['wait', 'json', 'keep', 'strict'],
  run: async (context, [agentId = '']) => {
    const waitSeconds = parseWait(context.values.wait);
    const client = await openCliClient(context, agentId);
    const json = context.values.json === true;
    const print = entryPrinter(context.io, json, agentId);

    const limit = PROTOCOL_LIMITS.pollLimitMax;
    const handled: string[] = [];
    let page = await client.pollAndDecrypt({ timeoutMs: waitSeconds * 1000, limit });
    for (;;) {
      for (const entry of page) {
        print(entry);
        handled.push(entry.id);
      }
      if (page.length < limit) break;
      page = await client.pollAndDecrypt({ limit });
    }
    // The receipts the printed messages asked for go before the command ends (PROTOCOL §7).
    await client.flushReceipts();
    if (handled.length > 0 && context.values.keep !== true) {
      await client.deleteMessages(handled);
    }
    if (handled.length === 0 && !json) context.io.err('no new messages');
  },
};

function parseWait(text: string | undefined): number {
  if (text === undefined) return 0;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > 86_400) {
    throw new UsageError(`--wait takes seconds between 0 and 86400, got "${text}"`);
  }
  return seconds;
}
