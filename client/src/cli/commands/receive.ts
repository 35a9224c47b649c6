// `deaddrop receive <agent> [--wait <s>] [--json] [--keep] [--save-dir <dir>] [--no-receipts]`:
// print messages after the saved cursor (saving files), advance it, and delete what was printed
// from the relay unless --keep — the receipts read too: they are stored messages, counted in the
// quota.
import { PROTOCOL_LIMITS } from '@deaddrop/contract';
import type { Command } from '../command.js';
import { entryPrinter, receiptPrinter } from '../format.js';
import { openCliClient } from '../open-client.js';
import { UsageError } from '../parse-args.js';
import { saveDirOf } from '../save-dir.js';

export const receiveCommand: Command = {
  name: 'receive',
  synopsis: '<agent> [--wait <s>] [--json] [--keep] [--save-dir <dir>] [--no-receipts] [--strict]',
  summary:
    'print new messages and delivery receipts (--json: one object per line; files are saved into --save-dir, default the current folder), then delete them unless --keep; --no-receipts sends no receipts',
  args: ['agent'],
  options: ['wait', 'json', 'keep', 'strict', 'save-dir', 'no-receipts'],
  run: async (context, [agentId = '']) => {
    const waitSeconds = parseWait(context.values.wait);
    const json = context.values.json === true;
    const saveDir = await saveDirOf(context);
    const handled: string[] = [];
    const printReceipt = receiptPrinter(context.io, json);
    const client = await openCliClient(context, agentId, {
      onReceipt: (event) => {
        printReceipt(event);
        handled.push(event.id);
      },
    });
    const print = entryPrinter(context.io, { json, reader: agentId, saveDir });

    const limit = PROTOCOL_LIMITS.pollLimitMax;
    let page = await client.pollAndDecrypt({ timeoutMs: waitSeconds * 1000, limit });
    for (;;) {
      for (const entry of page) {
        await print(entry);
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
