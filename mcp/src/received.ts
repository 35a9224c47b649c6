// Inbox entries as the tools report them: one shape for readable and unreadable messages, with the
// reason spelled out for a model to act on.
import { isUnreadable, problemDescriptions, type InboxEntry } from '@deaddrop/client';
import type { receivedMessage } from '@deaddrop/contract';
import type { z } from 'zod';

export type ReceivedMessageView = z.output<typeof receivedMessage>;

export function toReceivedMessage(entry: InboxEntry): ReceivedMessageView {
  if (isUnreadable(entry)) {
    return {
      message_id: entry.id,
      from_agent: null,
      message: null,
      sent_at: null,
      received_at: entry.receivedAt,
      verified: false,
      problem: problemDescriptions[entry.error],
    };
  }
  return {
    message_id: entry.id,
    from_agent: entry.from,
    message: typeof entry.body === 'string' ? entry.body : JSON.stringify(entry.body),
    sent_at: entry.sentAt,
    received_at: entry.receivedAt,
    verified: entry.verified,
    ...(entry.verified ? {} : { problem: problemDescriptions[entry.reason] }),
  };
}

/** A copy of something already handed over (the live feed and a poll both saw it). */
export function isReplay(entry: InboxEntry): boolean {
  return isUnreadable(entry) && entry.error === 'replayed';
}
