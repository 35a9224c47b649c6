// The live inbox as the SDK hands it out: each stored message opened and judged exactly as
// `pollAndDecrypt` does, handed over in order, and the cursor and replay cache saved for what was
// handed over, never past it.
import { messageIdSchema, type StoredMessage } from '@deaddrop/contract';
import type {
  InboxOptions,
  InboxSubscription,
  RelayInfo,
  SubscribeOptions,
} from '../client-types.js';
import { DeadDropError } from '../errors.js';
import { isUnreadable, type InboxEntry } from '../inbox-entry.js';
import type { MailboxState } from '../mailbox-state.js';
import { receiptEventOf, type ReceiptEvent } from '../receipts/receipt-event.js';
import { followInbox } from './follow-inbox.js';
import type { LiveConnection } from './live-connection.js';

/** What the live inbox needs from its client. */
export interface LiveInboxSource {
  readonly relayUrl: string;
  readonly info: () => Promise<RelayInfo>;
  /** The state file, read in turn with the client's other readers and writers of it. */
  readonly loadState: () => Promise<MailboxState>;
  /**
   * Opens stored messages against the client's replay cache (shared with its other readers):
   * `pollAndDecrypt`'s per-message logic.
   */
  readonly reader: (info: RelayInfo) => (stored: StoredMessage) => Promise<InboxEntry>;
  /** An entry judged but never handed over: its id is unremembered, so it comes again. */
  readonly undeliver: (entry: InboxEntry) => void;
  /** A forward-secret entry, already committed, whose consumer threw: kept for the next inbox. */
  readonly holdOver: (entry: InboxEntry) => void;
  /** The entries held over, to hand over before anything new. */
  readonly takeHeldOver: () => InboxEntry[];
  /** A receipt read: it counts as delivered, but goes to the receipt listeners, not the reader. */
  readonly receipt: (event: ReceiptEvent) => void;
  /** An entry the application has taken (the receipt it may ask for is now owed). */
  readonly handedOver: (entry: InboxEntry) => void;
  /** Records delivered entries (cursor forward, their ids as seen) in the state file, in turn. */
  readonly commit: (info: RelayInfo, delivered: readonly InboxEntry[]) => Promise<void>;
  readonly connect: (
    options: Pick<InboxOptions, 'transport' | 'authIn'>,
    info: RelayInfo,
  ) => LiveConnection;
  /** Registers the identity again when the relay no longer knows it (see followInbox). */
  readonly reregister: (refusal: DeadDropError) => Promise<void>;
}

/**
 * Entries after the saved cursor (or `options.after`), live, until the signal aborts. An entry
 * counts as delivered once yielded; state is saved after each batch that arrived together and
 * when the iteration ends, however it ends. A `throw()` into the generator at an entry leaves that
 * entry undelivered (`subscribe` uses this when `onMessage` throws).
 */
export async function* readLiveInbox(
  source: LiveInboxSource,
  options: InboxOptions & Pick<SubscribeOptions, 'onReceipt'>,
): AsyncGenerator<InboxEntry, void, undefined> {
  const signal = options.signal ?? new AbortController().signal;
  if (options.after !== undefined && !messageIdSchema.safeParse(options.after).success) {
    throw new DeadDropError(
      'BAD_INPUT',
      `after must be a relay message id, got "${options.after}"`,
    );
  }
  const info = await source.info();
  const state = await source.loadState();
  const batches = followInbox({
    after: options.after ?? state.cursor(info.relayId),
    connect: () => source.connect(options, info),
    signal,
    relayUrl: source.relayUrl,
    onConnection: options.onConnection,
    reregister: source.reregister,
  });
  const delivered: InboxEntry[] = [];
  /**
   * The entry at the `yield` right now, and whether it was committed before (forward secret). A
   * `return` there (a `break` in for-await) hands it over; a `throw` does not.
   */
  let atYield: { readonly entry: InboxEntry; readonly committed: boolean } | undefined;
  // Forward-secret entries an earlier consumer threw at come first (already recorded as seen).
  const heldOver = source.takeHeldOver();
  let nextHeld = 0;
  try {
    for (let entry = heldOver[0]; entry !== undefined; entry = heldOver[nextHeld]) {
      if (signal.aborted) return;
      nextHeld += 1;
      atYield = { entry, committed: true };
      try {
        yield entry;
      } catch (error) {
        atYield = undefined;
        nextHeld -= 1;
        throw error;
      }
      atYield = undefined;
      source.handedOver(entry);
    }
    for await (const batch of batches) {
      const read = source.reader(info);
      for (const stored of batch) {
        if (signal.aborted) return;
        const entry = await read(stored);
        const receipt = isUnreadable(entry) ? null : receiptEventOf(entry);
        if (receipt !== null) {
          delivered.push(entry);
          source.receipt(receipt);
          hearReceipt(options.onReceipt, receipt);
          continue;
        }
        // Forward secrecy (PROTOCOL §10): the secret that opened a v2 message is deleted before
        // the message is handed over, so it is recorded as seen (with those before it) first.
        // Such a message is not handed over again if the consumer throws: nothing could open it.
        const committed = entry.prekeyId !== undefined;
        if (committed) {
          try {
            await source.commit(info, [...delivered, entry]);
          } catch (error) {
            // Not recorded, not handed over: it must come again.
            source.undeliver(entry);
            throw error;
          }
          delivered.length = 0;
        }
        atYield = { entry, committed };
        try {
          yield entry;
        } catch (error) {
          atYield = undefined;
          if (committed) source.holdOver(entry);
          else source.undeliver(entry);
          throw error;
        }
        atYield = undefined;
        if (!committed) delivered.push(entry);
        source.handedOver(entry);
      }
      await source.commit(info, [...delivered]);
      delivered.length = 0;
    }
  } finally {
    // Held-over entries not handed over (thrown at, or never reached) wait for the next inbox.
    for (const kept of heldOver.slice(nextHeld)) source.holdOver(kept);
    // Returned from at a yield (a `break` in for-await): that entry was handed over.
    if (atYield !== undefined) {
      if (!atYield.committed) delivered.push(atYield.entry);
      source.handedOver(atYield.entry);
    }
    if (delivered.length > 0) await source.commit(info, delivered);
  }
}

/** A subscription's own receipt callback; its throw ends nothing (the receipt is delivered). */
function hearReceipt(
  onReceipt: ((event: ReceiptEvent) => void) | undefined,
  event: ReceiptEvent,
): void {
  try {
    onReceipt?.(event);
  } catch (error) {
    process.emitWarning(`onReceipt threw: ${String(error)}`, 'DeadDropWarning');
  }
}

/** Runs `onMessage` for each entry of a live inbox opened with the subscription's own signal. */
export function subscribeToInbox(
  open: (signal: AbortSignal) => AsyncGenerator<InboxEntry, void, undefined>,
  options: SubscribeOptions,
): InboxSubscription {
  const controller = new AbortController();
  const stop = (): void => {
    controller.abort();
  };
  if (options.signal?.aborted === true) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  const entries = open(controller.signal);

  const run = async (): Promise<void> => {
    for (let next = await entries.next(); next.done !== true; next = await entries.next()) {
      try {
        await options.onMessage(next.value);
      } catch (error) {
        // Saves what came before, then rethrows `error` here.
        await entries.throw(error);
      }
    }
  };
  const closed = run().then(
    () => {
      options.signal?.removeEventListener('abort', stop);
    },
    (error: unknown) => {
      options.signal?.removeEventListener('abort', stop);
      if (options.onError === undefined) throw error;
      options.onError(error);
    },
  );
  return { unsubscribe: stop, closed };
}
