// The receipts this client owes (PROTOCOL §7): for each verified message that asked for one and
// was handed to the application, one receipt per sender per poll (or per second of live delivery),
// sent in the background. A failure is reported, never thrown into the read that owed it.
import { RECEIPT_IDS_MAX } from '@deaddrop/contract';
import type { OwedReceipt } from '../client-types.js';
import { isUnreadable, type InboxEntry } from '../inbox-entry.js';

/** How long live delivery gathers owed ids before sending (PROTOCOL §7: per second). */
const LIVE_RECEIPT_DELAY_MS = 1000;

export interface ReceiptSenderDeps {
  /** Seals and sends one receipt; rejects when it cannot. */
  readonly send: (owed: OwedReceipt) => Promise<void>;
  readonly onError: (error: unknown, owed: OwedReceipt) => void;
}

/** Whether handing `entry` over means a receipt is owed for it. */
function owesReceipt(entry: InboxEntry): entry is InboxEntry & { from: string; uid: string } {
  return (
    !isUnreadable(entry) && entry.kind === 'message' && entry.verified && entry.receiptRequested
  );
}

export class ReceiptSender {
  /** Sender → the inner ids owed to it, in the order delivered. */
  readonly #owed = new Map<string, string[]>();
  readonly #sending = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  /** Moves on at each abandon(): failures of sends from before it are not reported. */
  #epoch = 0;

  constructor(private readonly deps: ReceiptSenderDeps) {}

  /** Notes what `entries` owe; nothing for unverified mail, receipts or messages not asking. */
  owe(entries: readonly InboxEntry[]): void {
    for (const entry of entries) {
      if (!owesReceipt(entry)) continue;
      const ids = this.#owed.get(entry.from);
      if (ids === undefined) this.#owed.set(entry.from, [entry.uid]);
      else ids.push(entry.uid);
    }
  }

  /** Sends what is owed within `LIVE_RECEIPT_DELAY_MS`, gathering what comes meanwhile. */
  sendSoon(): void {
    if (this.#timer !== undefined || this.#owed.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.sendNow();
    }, LIVE_RECEIPT_DELAY_MS);
    // Receipts owed are no reason for a process to stay up.
    this.#timer.unref();
  }

  /** Starts sending every owed receipt: one per sender (split at 100 ids). */
  sendNow(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const epoch = this.#epoch;
    for (const [to, ids] of this.#owed) {
      for (let start = 0; start < ids.length; start += RECEIPT_IDS_MAX) {
        const owed = { to, of: ids.slice(start, start + RECEIPT_IDS_MAX) };
        const sending = this.deps.send(owed).catch((error: unknown) => {
          if (epoch === this.#epoch) this.deps.onError(error, owed);
        });
        this.#sending.add(sending);
        void sending.finally(() => this.#sending.delete(sending));
      }
    }
    this.#owed.clear();
  }

  /** Sends what is owed now and waits until every receipt under way has been sent or failed. */
  async flush(): Promise<void> {
    this.sendNow();
    while (this.#sending.size > 0) await Promise.all(this.#sending);
  }

  /**
   * Drops what is owed and what is under way is not reported (the client is closing: its calls
   * are being ended). Receipts owed later are sent as usual.
   */
  abandon(): void {
    this.#epoch++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#owed.clear();
  }
}
