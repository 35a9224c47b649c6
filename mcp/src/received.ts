// Inbox entries as the tools report them: one shape for readable and unreadable messages, with the
// reason spelled out for a model to act on. A JSON body is handed over as JSON; a file's bytes are
// saved to a file (the model gets its path), never inlined.
import { isUnreadable, problemDescriptions, type InboxEntry } from '@deaddrop/client';
import type { receivedMessage } from '@deaddrop/contract';
import type { z } from 'zod';
import { safeFileName, saveReceivedFile } from './saved-files.js';

export type ReceivedMessageView = z.output<typeof receivedMessage>;

/** The entry as reported, without saving a file (`file_path` absent): for peeks. */
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
  const file = entry.data;
  return {
    message_id: entry.id,
    from_agent: entry.from,
    message: file === undefined ? entry.body : null,
    ...(entry.contentType === undefined ? {} : { content_type: entry.contentType }),
    ...(entry.filename === undefined ? {} : { filename: entry.filename }),
    ...(file === undefined ? {} : { bytes: file.byteLength }),
    ...(entry.replyTo === undefined ? {} : { reply_to: entry.replyTo }),
    ...(entry.threadId === undefined ? {} : { thread_id: entry.threadId }),
    ...(entry.group === undefined ? {} : { group: [...entry.group.members] }),
    ...(entry.receiptRequested ? { receipt_requested: true } : {}),
    sent_at: entry.sentAt,
    received_at: entry.receivedAt,
    verified: entry.verified,
    ...(entry.verified ? {} : { problem: problemDescriptions[entry.reason] }),
  };
}

/** The entry as a tool hands it over: a file message's bytes saved in `saveDir` first. */
export async function handOver(entry: InboxEntry, saveDir: string): Promise<ReceivedMessageView> {
  const view = toReceivedMessage(entry);
  if (isUnreadable(entry) || entry.data === undefined) return view;
  const name = safeFileName(entry.filename, `message-${entry.id}`);
  return { ...view, file_path: await saveReceivedFile(saveDir, name, entry.data) };
}

/** A copy of something already handed over (the live feed and a poll both saw it). */
export function isReplay(entry: InboxEntry): boolean {
  return isUnreadable(entry) && entry.error === 'replayed';
}
