// Delivery receipts (PROTOCOL §7) read by the agent's client and not yet shown to the model:
// receive_messages drains them. Only verified receipts are kept (an unverified one could come from
// anyone), and only the newest RECEIPT_QUEUE_LIMIT: a receipt lost to the bound loses no mail.
import type { ReceiptEvent } from '@deaddrop/client';

export const RECEIPT_QUEUE_LIMIT = 1_000;

export class ReceiptQueue {
  readonly #events: ReceiptEvent[] = [];

  get size(): number {
    return this.#events.length;
  }

  add(event: ReceiptEvent): void {
    if (!event.verified) return;
    this.#events.push(event);
    if (this.#events.length > RECEIPT_QUEUE_LIMIT) this.#events.shift();
  }

  /** Removes and returns every receipt waiting, oldest first. */
  drain(): ReceiptEvent[] {
    return this.#events.splice(0, this.#events.length);
  }
}
