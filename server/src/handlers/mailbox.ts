// The authenticated mailbox procedures: poll (with long-poll), stats and delete.
import type { MailboxStats, PollInput, PollResult } from '@deaddrop/contract';
import { POLL_CATCH_UP_MS } from '../live/dispatcher.js';
import type { RelayServices } from '../services.js';

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
    const waiter = services.dispatcher.watch(agentId);
    services.metrics.longPollStarted();
    try {
      const deadline = Date.now() + waitMs;
      // Re-read once after watching began: a message stored between the first read and the watch
      // would otherwise wait for the catch-up timer.
      messages = await services.store.read(agentId, after, input.limit);
      // On shutdown (`waiter.closed`) the poll answers now with what it has: no messages.
      while (messages.length === 0 && signal?.aborted !== true && !waiter.closed) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await waiter.wait(Math.min(left, POLL_CATCH_UP_MS), signal);
        messages =
          waiter.take(after, input.limit) ??
          (await services.store.read(agentId, after, input.limit));
      }
    } finally {
      services.metrics.longPollEnded();
      waiter.stop();
    }
  }
  if (messages.length > 0) services.metrics.messagesDelivered('poll', messages.length);
  return { messages, cursor: messages.at(-1)?.id ?? after };
}

export async function mailboxStats(
  services: RelayServices,
  agentId: string,
): Promise<MailboxStats> {
  const [counts, prekeys] = await Promise.all([
    services.store.counts(agentId),
    services.store.prekeyCount(agentId),
  ]);
  return { agentId, ...counts, limits: services.limits, prekeys };
}

export async function deleteMessages(
  services: RelayServices,
  agentId: string,
  ids: readonly string[],
): Promise<{ deleted: number }> {
  return { deleted: await services.store.delete(agentId, [...new Set(ids)]) };
}
