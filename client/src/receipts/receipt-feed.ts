// Where receipt events go: the client's `onReceipt` callback, and `receipts()` iterators, each of
// which sees every event that arrives while it runs; events that arrive while none runs wait (a
// bounded number) for the next one.
import type { ReceiptEvent } from './receipt-event.js';

/** Receipt events kept for a `receipts()` iterator not yet started; older ones are dropped. */
const MAX_UNCLAIMED = 1000;

interface Reader {
  readonly queue: ReceiptEvent[];
  wake: (() => void) | undefined;
}

export class ReceiptFeed {
  readonly #readers = new Set<Reader>();
  #unclaimed: ReceiptEvent[] = [];

  constructor(private readonly onReceipt: ((event: ReceiptEvent) => void) | undefined) {}

  publish(event: ReceiptEvent): void {
    if (this.onReceipt !== undefined) {
      try {
        this.onReceipt(event);
      } catch (error) {
        // The application's callback failing must not undo a delivered receipt or end a poll.
        process.emitWarning(`onReceipt threw: ${String(error)}`, 'DeadDropWarning');
      }
    }
    if (this.#readers.size === 0) {
      this.#unclaimed.push(event);
      if (this.#unclaimed.length > MAX_UNCLAIMED) this.#unclaimed.shift();
      return;
    }
    for (const reader of this.#readers) {
      // A reader that is not being read holds at most as many as the unclaimed list.
      reader.queue.push(event);
      if (reader.queue.length > MAX_UNCLAIMED) reader.queue.shift();
      reader.wake?.();
    }
  }

  /** Events waiting from before, then each new one, until `signal` aborts. */
  async *read(signal: AbortSignal): AsyncGenerator<ReceiptEvent, void, undefined> {
    const reader: Reader = { queue: this.#unclaimed, wake: undefined };
    this.#unclaimed = [];
    this.#readers.add(reader);
    const onAbort = (): void => reader.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const next = reader.queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          reader.wake = resolve;
        });
        reader.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#readers.delete(reader);
    }
  }
}
