// The live inbox (PROTOCOL §3 `inbox`): replay everything after the cursor, then stream new
// messages in id order. The store is the source of truth; the dispatcher only says when to re-read.
import { tracked } from '@trpc/server';
import { storedMessage, type InboxInput, type StoredMessage } from '@deaddrop/contract';
import { liveCatchUpMs } from '../live/dispatcher.js';
import type { LiveConnection } from '../live/connections.js';
import type { RelayServices } from '../services.js';

const PAGE = 100;
/** A subscriber whose connection accepts nothing for this long is disconnected. */
export const SLOW_CONSUMER_MS = 30_000;

/** Unsent bytes a subscriber may hold: two of the largest envelopes (as b64u) plus slack. */
function backlogLimitBytes(maxMessageBytes: number): number {
  return 2 * Math.ceil((maxMessageBytes * 4) / 3) + 64 * 1024;
}

/**
 * Each item is parsed with the contract's schema, since tRPC's `.output()` cannot validate a stream.
 * A subscriber that cannot keep up is disconnected with a reason rather than buffered without bound
 * (tRPC's WebSocket adapter writes without backpressure) or left holding the relay's resources; it
 * resumes from its cursor when it reconnects.
 */
export async function* streamInbox(
  services: RelayServices,
  agentId: string,
  input: InboxInput,
  signal: AbortSignal | undefined,
  connection: LiveConnection | undefined,
) {
  // tRPC sets lastEventId on a reconnect; it wins over the original `after`.
  let cursor = input.lastEventId ?? input.after ?? '0-0';
  const backlogLimit = backlogLimitBytes(services.limits.maxMessageBytes);
  const waiter = services.dispatcher.watch(agentId);
  let page: StoredMessage[] | undefined;
  try {
    // On shutdown (`waiter.closed`) the stream ends; the subscriber reconnects from its cursor.
    while (signal?.aborted !== true && !waiter.closed) {
      page ??= await services.store.read(agentId, cursor, PAGE);
      for (const message of page) {
        if (connection !== undefined && connection.backlogBytes() > backlogLimit) {
          connection.close(`slow consumer: more than ${backlogLimit} bytes unsent`);
          return;
        }
        cursor = message.id;
        const watchdog =
          connection === undefined
            ? undefined
            : setTimeout(() => {
                connection.close(
                  `slow consumer: nothing accepted for ${services.slowConsumerMs} ms`,
                );
              }, services.slowConsumerMs);
        try {
          const item = tracked(message.id, storedMessage.parse(message));
          // Counted as it is handed over: a consumer that stops never resumes the generator.
          services.metrics.messagesDelivered('live', 1);
          yield item;
        } finally {
          clearTimeout(watchdog);
        }
      }
      if (page.length < PAGE) {
        await waiter.wait(liveCatchUpMs(), signal);
        page = waiter.take(cursor, PAGE);
      } else {
        page = undefined;
      }
    }
  } finally {
    waiter.stop();
  }
}
