// What each MCP tool does, keyed by the contract's tool names: the mapped type makes a tool in
// `mcpTools` without a handler (or a handler returning the wrong shape) a type error.
import type { InboxEntry } from '@deaddrop/client';
import type { mcpTools, McpToolName } from '@deaddrop/contract';
import type { z } from 'zod';
import type { AgentContext } from './agent-context.js';
import { INBOX_QUEUE_LIMIT } from './inbox-queue.js';
import { handOver, type ReceivedMessageView } from './received.js';
import { sendMessageTool } from './send-tool.js';
import { ToolFailure } from './tool-failure.js';

type Tools = typeof mcpTools;
export type ToolInput<K extends McpToolName> = z.output<Tools[K]['input']>;
export type ToolOutput<K extends McpToolName> = z.input<Tools[K]['output']>;

export interface ToolAnswer<K extends McpToolName> {
  readonly result: ToolOutput<K>;
  /** One or two lines for the model, beside the structured result. */
  readonly summary: string;
}

export type ToolHandlers = {
  readonly [K in McpToolName]: (args: ToolInput<K>, agent: AgentContext) => Promise<ToolAnswer<K>>;
};

const DEFAULT_LIMIT = 20;

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Hands entries over in order (files saved one after another, so their names do not race). */
async function handOverAll(
  entries: readonly InboxEntry[],
  saveDir: string,
): Promise<ReceivedMessageView[]> {
  const views: ReceivedMessageView[] = [];
  for (const entry of entries) views.push(await handOver(entry, saveDir));
  return views;
}

const toolHandlers: ToolHandlers = {
  send_message: sendMessageTool,

  async receive_messages(args, agent) {
    const limit = args.limit ?? DEFAULT_LIMIT;
    const timeoutMs = Math.round((args.timeout_seconds ?? 0) * 1000);
    const { queue } = agent;
    // Waiting only makes sense when nothing is already at hand.
    if (queue.size < limit) await queue.fetch(limit - queue.size, queue.size > 0 ? 0 : timeoutMs);
    const messages = await handOverAll(queue.take(limit), agent.saveDir);
    const unverified = messages.filter((m) => !m.verified).length;
    const receipts = agent.receipts.drain().map((event) => ({
      from_agent: event.from,
      message_ids: [...event.of],
      at: event.sentAt,
    }));
    const receiptLine =
      receipts.length === 0
        ? ''
        : ` ${plural(receipts.length, 'delivery receipt')}: ${receipts.map((r) => `${r.from_agent} got ${r.message_ids.join(', ')}`).join('; ')}.`;
    return {
      result: { messages, receipts },
      summary: `${
        messages.length === 0
          ? 'No new messages.'
          : `${plural(messages.length, 'message')}${unverified > 0 ? ` (${unverified} NOT verified: see "problem")` : ''}: ${messages.map((m) => `${m.message_id} from ${m.from_agent ?? '?'}`).join(', ')}.`
      }${receiptLine}`,
    };
  },

  async wait_for_message(args, agent) {
    const { queue } = agent;
    const from = args.from_agent;
    const matches = (entry: Parameters<Parameters<typeof queue.takeFirst>[0]>[0]): boolean =>
      from === undefined || ('from' in entry && entry.from === from);
    const deadline = Date.now() + Math.round(args.timeout_seconds * 1000);
    for (;;) {
      const found = queue.takeFirst(matches);
      if (found !== undefined) {
        const message = await handOver(found, agent.saveDir);
        return {
          result: { message, timed_out: false },
          summary: `Message ${message.message_id} from ${message.from_agent ?? '?'}${message.verified ? '' : ' (NOT verified)'}.`,
        };
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (queue.full) {
        throw new ToolFailure(
          `${INBOX_QUEUE_LIMIT} messages from other agents are waiting; call receive_messages to read them, then wait again.`,
        );
      }
      await queue.fetch(100, left);
    }
    return {
      result: { message: null, timed_out: true },
      summary: `No message${from === undefined ? '' : ` from ${from}`} within ${args.timeout_seconds} s.`,
    };
  },

  async get_public_key(_args, agent) {
    const info = await agent.client.info();
    const { client } = agent;
    return {
      result: {
        agent_id: client.agentId,
        public_key: client.agentKey,
        fingerprint: client.fingerprint,
        relay_url: client.relayUrl,
        relay_id: info.relayId,
      },
      summary: `${client.agentId} on ${client.relayUrl}: ${client.agentKey} (fingerprint ${client.fingerprint}).`,
    };
  },

  async get_mailbox_stats(_args, agent) {
    const stats = await agent.client.stats();
    return {
      result: {
        agent_id: stats.agentId,
        count: stats.count,
        bytes: stats.bytes,
        oldest_message_id: stats.oldestId,
        newest_message_id: stats.newestId,
        max_messages: stats.limits.maxMessages,
      },
      summary: `${plural(stats.count, 'message')} (${stats.bytes} bytes) in the mailbox; it holds at most ${stats.limits.maxMessages}.`,
    };
  },

  async delete_message(args, agent) {
    const { deleted } = await agent.client.deleteMessages([args.message_id]);
    return {
      result: { message_id: args.message_id, deleted: deleted > 0 },
      summary:
        deleted > 0
          ? `Deleted ${args.message_id}.`
          : `No message ${args.message_id} in the mailbox (already deleted or expired).`,
    };
  },

  async lookup_agent(args, agent) {
    const entry = await agent.client.lookup(args.agent_id);
    return {
      result: {
        agent_id: entry.agentId,
        public_key: entry.agentKey,
        fingerprint: entry.fingerprint,
        registered_at: entry.registeredAt,
        pin_status: entry.pinStatus,
      },
      summary: `${entry.agentId}: ${entry.agentKey} (fingerprint ${entry.fingerprint}; ${entry.pinStatus === 'differs' ? 'DIFFERS from the pinned key' : entry.pinStatus}).`,
    };
  },
};

/** Runs tool `name`; its arguments are correlated with its name. */
export function runTool<K extends McpToolName>(
  name: K,
  args: ToolInput<K>,
  agent: AgentContext,
): Promise<ToolAnswer<K>> {
  return toolHandlers[name](args, agent);
}
