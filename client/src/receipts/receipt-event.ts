// Incoming delivery receipts (PROTOCOL §7): never handed out as messages, but as receipt events,
// to the client's `onReceipt`, to `receipts()` iterators and to a subscription's `onReceipt`.
import { receiptBodySchema } from '@deaddrop/contract';
import type { MessageProblem, ReceivedMessage } from '../inbox-entry.js';

export type ReceiptEvent = {
  /** The relay's id of the stored receipt ("<ms>-<seq>"). */
  readonly id: string;
  /** The receipt's own inner id. */
  readonly uid: string;
  /** Who says they received the messages. */
  readonly from: string;
  /** The inner ids (`SentMessage.uid`) acknowledged: the receipt sender's claim. */
  readonly of: readonly string[];
  readonly status: 'delivered';
  readonly sentAt: number;
  readonly receivedAt: number;
} & (
  | { readonly verified: true; readonly reason?: undefined }
  /** Signed by a key other than the pinned one, or stale: anyone could have written it. */
  | { readonly verified: false; readonly reason: MessageProblem }
);

/** The receipt event an opened entry is, or null for an ordinary message. */
export function receiptEventOf(entry: ReceivedMessage): ReceiptEvent | null {
  if (entry.kind !== 'receipt') return null;
  // The envelope codec checked the body against this schema already; parsed again for its type.
  const body = receiptBodySchema.safeParse(entry.body);
  if (!body.success) return null;
  const common = {
    id: entry.id,
    uid: entry.uid,
    from: entry.from,
    of: body.data.of,
    status: body.data.status,
    sentAt: entry.sentAt,
    receivedAt: entry.receivedAt,
  };
  return entry.verified
    ? { ...common, verified: true }
    : { ...common, verified: false, reason: entry.reason };
}
