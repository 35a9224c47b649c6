// What the state file remembers of recent mail (PROTOCOL §1 state file, `recent` and `deliveries`):
// the messages received lately, so a reply can name one by id after its mailbox copy is deleted, and
// the messages sent asking for a receipt, so a sender can tell which were delivered. Both are
// bounded logs, oldest dropped first; losing them loses no mail, so a malformed list in the file is
// read as empty rather than refusing the whole file.
import {
  agentIdSchema,
  groupSchema,
  messageIdSchema,
  messageUidSchema,
  timestampSchema,
} from '@deaddrop/contract';
import { z } from 'zod';
import type { ReceivedMessage } from './inbox-entry.js';
import type { ReceiptEvent } from './receipts/receipt-event.js';

/** How many received messages, and how many receipt-requesting sends, the state file keeps. */
export const MEMORY_LIMIT = 256;

const receivedSummarySchema = z.object({
  id: messageIdSchema,
  uid: messageUidSchema,
  from: agentIdSchema,
  sentAt: timestampSchema,
  receivedAt: timestampSchema,
  verified: z.boolean(),
  threadId: messageUidSchema.optional(),
  group: groupSchema.optional(),
});
/** A message received lately: what a reply (or reply-all) needs of it. */
export type ReceivedSummary = z.infer<typeof receivedSummarySchema>;

const deliveryRecordSchema = z.object({
  uid: messageUidSchema,
  to: agentIdSchema,
  id: messageIdSchema,
  sentAt: timestampSchema,
  /** The receipt's `sentAt`: when the recipient's client says it handed the message over. */
  deliveredAt: timestampSchema.optional(),
});
/** A message this agent sent asking for a receipt, and whether its recipient sent one. */
export type DeliveryRecord = z.infer<typeof deliveryRecordSchema>;

export const recentListSchema = z.array(receivedSummarySchema).max(MEMORY_LIMIT).catch([]);
export const deliveryListSchema = z.array(deliveryRecordSchema).max(MEMORY_LIMIT).catch([]);

/** A bounded log keyed by inner uid, in insertion order (a Map keeps it). */
class BoundedLog<T extends { readonly uid: string }> {
  readonly #items = new Map<string, T>();

  constructor(items: Iterable<T> = []) {
    for (const item of items) this.put(item);
  }

  put(item: T): void {
    this.#items.delete(item.uid);
    this.#items.set(item.uid, item);
    for (const oldest of this.#items.keys()) {
      if (this.#items.size <= MEMORY_LIMIT) break;
      this.#items.delete(oldest);
    }
  }

  get(uid: string): T | undefined {
    return this.#items.get(uid);
  }

  values(): T[] {
    return [...this.#items.values()];
  }
}

export class MessageMemory {
  readonly #received: BoundedLog<ReceivedSummary>;
  readonly #deliveries: BoundedLog<DeliveryRecord>;

  constructor(received: Iterable<ReceivedSummary> = [], deliveries: Iterable<DeliveryRecord> = []) {
    this.#received = new BoundedLog(received);
    this.#deliveries = new BoundedLog(deliveries);
  }

  /** A message handed to the application (never a receipt). */
  received(message: ReceivedMessage): void {
    this.#received.put({
      id: message.id,
      uid: message.uid,
      from: message.from,
      sentAt: message.sentAt,
      receivedAt: message.receivedAt,
      verified: message.verified,
      ...(message.threadId === undefined ? {} : { threadId: message.threadId }),
      ...(message.group === undefined ? {} : { group: message.group }),
    });
  }

  /** By the relay's id or the message's own uid; the newest match. */
  findReceived(idOrUid: string): ReceivedSummary | undefined {
    const byUid = this.#received.get(idOrUid);
    if (byUid !== undefined) return byUid;
    return this.#received.values().findLast((summary) => summary.id === idOrUid);
  }

  sentAskingReceipt(record: Omit<DeliveryRecord, 'deliveredAt'>): void {
    this.#deliveries.put(record);
  }

  /**
   * A verified receipt marks the messages it names as delivered — only those sent to the
   * receipt's own sender: anyone may claim to have received a message, but only its recipient's
   * word counts.
   */
  receipt(event: ReceiptEvent): void {
    if (!event.verified) return;
    for (const uid of event.of) {
      const record = this.#deliveries.get(uid);
      if (record === undefined || record.to !== event.from || record.deliveredAt !== undefined)
        continue;
      this.#deliveries.put({ ...record, deliveredAt: event.sentAt });
    }
  }

  /** Newest first. */
  deliveries(): DeliveryRecord[] {
    return this.#deliveries.values().reverse();
  }

  toJSON(): { recent: ReceivedSummary[]; deliveries: DeliveryRecord[] } {
    return { recent: this.#received.values(), deliveries: this.#deliveries.values() };
  }
}
