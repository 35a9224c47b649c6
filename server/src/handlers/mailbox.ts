// The authenticated mailbox procedures: poll (with long-poll), stats, delete, and the live inbox.
import { tracked } from '@trpc/server';
import {
  storedMessage,
  type MailboxStats,
  type PollResult,
  type StoredMessage,
} from '@deaddrop/contract';
import { CATCH_UP_INTERVAL_MS, watchMailbox } from '../mail-waiter.js';
import type { RelayServices } from '../services.js';

export interface PollInput {
  readonly after?: string | undefined;
  readonly limit: number;
  readonly waitMs?: number | undefined;
}

export async function pollMailbox(
  services: RelayServices,
  agentId: string,
  input: PollInput,
  signal?: AbortSignal,
): Promise<PollResult> {
  const after = input.after ?? '0-0';
  const waitMs = Math.min(input.waitMs ?? 0, services.limits.maxWaitMs);
  let messages = await services.store.read(agentId, after, input.limit);
  if (messages.length === 0 && waitMs > 0) {
    const waiter = watchMailbox(services.store, agentId);
    try {
      const deadline = Date.now() + waitMs;
      // Re-read once after watching began: a message stored between the first read and the watch
      // would otherwise wait for the catch-up timer.
      messages = await services.store.read(agentId, after, input.limit);
      while (messages.length === 0 && signal?.aborted !== true) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await waiter.wait(Math.min(left, CATCH_UP_INTERVAL_MS), signal);
        messages = await services.store.read(agentId, after, input.limit);
      }
    } finally {
      waiter.stop();
    }
  }
  return { messages, cursor: messages.at(-1)?.id ?? after };
}

export async function mailboxStats(
  services: RelayServices,
  agentId: string,
): Promise<MailboxStats> {
  const counts = await services.store.counts(agentId);
  return { agentId, ...counts, limits: services.limits };
}

export async function deleteMessages(
  services: RelayServices,
  agentId: string,
  ids: readonly string[],
): Promise<{ deleted: number }> {
  return { deleted: await services.store.delete(agentId, [...new Set(ids)]) };
}

const INBOX_PAGE = 100;

/**
 * Replays everything after the cursor, then streams new messages in id order. Each item is parsed
 * with the contract's schema, since tRPC's `.output()` cannot validate a stream.
 */
export async function* streamInbox(
  services: RelayServices,
  agentId: string,
  input: { after?: string | undefined; lastEventId?: string | null | undefined },
  signal?: AbortSignal,
) {
  let cursor = input.lastEventId ?? input.after ?? '0-0';
  const waiter = watchMailbox(services.store, agentId);
  try {
    while (signal?.aborted !== true) {
      const page: StoredMessage[] = await services.store.read(agentId, cursor, INBOX_PAGE);
      for (const message of page) {
        cursor = message.id;
        yield tracked(message.id, storedMessage.parse(message));
      }
      if (page.length < INBOX_PAGE) await waiter.wait(CATCH_UP_INTERVAL_MS, signal);
    }
  } finally {
    waiter.stop();
  }
}
