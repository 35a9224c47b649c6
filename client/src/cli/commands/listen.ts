// `deaddrop listen <agent> [--json] [--ws] [--keep] [--save-dir <dir>] [--no-receipts]`: print
// messages (saving files) and delivery receipts as they arrive, live, until Ctrl-C; like `receive`,
// advance the cursor and delete what was printed from the relay unless --keep.
import type { LiveConnectionEvent } from '../../live/follow-inbox.js';
import type { Command } from '../command.js';
import { entryPrinter, receiptPrinter } from '../format.js';
import type { CliIo } from '../io.js';
import { openCliClient } from '../open-client.js';
import { saveDirOf } from '../save-dir.js';

export const listenCommand: Command = {
  name: 'listen',
  synopsis: '<agent> [--json] [--ws] [--keep] [--save-dir <dir>] [--no-receipts] [--strict]',
  summary:
    'print messages and delivery receipts as they arrive until Ctrl-C (--json: one object per line; files are saved into --save-dir, default the current folder), deleting each once printed unless --keep; --ws: WebSocket instead of SSE; --no-receipts sends no receipts',
  args: ['agent'],
  options: ['json', 'ws', 'keep', 'strict', 'save-dir', 'no-receipts'],
  run: async (context, [agentId = '']) => {
    const json = context.values.json === true;
    const saveDir = await saveDirOf(context);
    const printReceipt = receiptPrinter(context.io, json);
    // The deleter deletes through the client opened below, whose receipt hook feeds the deleter:
    // neither is called before the inbox runs, when both exist.
    const deleter =
      context.values.keep === true
        ? undefined
        : createDeleter((ids) => client.deleteMessages(ids), context.io);
    const client = await openCliClient(context, agentId, {
      onReceipt: (event) => {
        printReceipt(event);
        deleter?.add(event.id);
      },
    });
    const print = entryPrinter(context.io, { json, reader: agentId, saveDir });
    const transport = context.values.ws === true ? 'ws' : 'sse';
    const status = statusReporter(context.io, `${agentId} on ${client.relayUrl} over ${transport}`);
    const signal = context.io.interrupted();
    try {
      for await (const entry of client.inbox({ transport, signal, onConnection: status })) {
        await print(entry);
        deleter?.add(entry.id);
      }
    } finally {
      await deleter?.flush();
    }
  },
};

const MAX_REMEMBERED_CAUSES = 16;

/**
 * One line on stderr when listening starts, when a connection is lost, for each other reason it
 * cannot come back (the relay closed the stream, then refuses connections: it is down), and when
 * it is back. A reason is told once per loss: a WebSocket's attempts alternate between two.
 */
function statusReporter(io: CliIo, what: string): (event: LiveConnectionEvent) => void {
  let state: 'starting' | 'connected' | 'lost' = 'starting';
  const causes = new Set<string>();
  return (event) => {
    if (event.state === 'connected') {
      if (state === 'starting') io.err(`listening as ${what}; Ctrl-C to stop`);
      else if (state === 'lost') io.err('reconnected');
      state = 'connected';
      causes.clear();
      return;
    }
    const cause = event.error.message;
    if (state !== 'lost') io.err(`connection lost (${cause}); reconnecting`);
    else if (!causes.has(cause)) io.err(`still reconnecting (${cause})`);
    state = 'lost';
    // Bounded: a relay could word every refusal differently.
    if (causes.size >= MAX_REMEMBERED_CAUSES) causes.clear();
    causes.add(cause);
  };
}

/** Deletes printed messages in the background, batching whatever piled up meanwhile. */
function createDeleter(deleteMessages: (ids: readonly string[]) => Promise<unknown>, io: CliIo) {
  let pending: string[] = [];
  let running: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    while (pending.length > 0) {
      const ids = pending;
      pending = [];
      try {
        await deleteMessages(ids);
      } catch (error) {
        // They expire with the relay's TTL anyway; listening goes on.
        io.err(
          `warning: could not delete ${ids.length} message(s) from the relay: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  };
  const kick = (): void => {
    if (running !== undefined || pending.length === 0) return;
    running = drain().finally(() => {
      running = undefined;
      kick();
    });
  };
  return {
    add(id: string): void {
      pending.push(id);
      kick();
    },
    async flush(): Promise<void> {
      while (running !== undefined) await running;
      await drain();
    },
  };
}
