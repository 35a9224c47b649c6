// The live inbox (PROTOCOL §3 `inbox`): replay everything after the cursor, then stream new
// messages in id order. The store is the source of truth; the dispatcher only says when to re-read.
import { tracked } from '@trpc/server';
import { storedMessage, type InboxInput, type StoredMessage } from '@deaddrop/contract';
import type { LiveConnection } from '../live/connections.js';
import type { RelayServices } from '../services.js';

const PAGE = 100;
/** A subscriber whose connection accepts nothing for this long is disconnected (live/sse-inbox.ts). */
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
  const waiter = services.dispatcher.watchLive(agentId, signal);
  let page: StoredMessage[] | undefined;
  /**
   * The page came from the dispatcher: messages this process's append made from a send it had
   * parsed, in the contract's shape already. A page read from the store is parsed item by item.
   */
  let handedOver = false;
  try {
    // On shutdown (`waiter.closed`) the stream ends; the subscriber reconnects from its cursor.
    while (signal?.aborted !== true && !waiter.closed) {
      if (page === undefined) {
        page = await services.store.read(agentId, cursor, PAGE);
        handedOver = false;
      }
      for (const message of page) {
        if (connection !== undefined && connection.backlogBytes() > backlogLimit) {
          connection.close(`slow consumer: more than ${backlogLimit} bytes unsent`);
          return;
        }
        cursor = message.id;
        const item = tracked(message.id, handedOver ? message : storedMessage.parse(message));
        // Counted as it is handed over: a consumer that stops never resumes the generator.
        services.metrics.messagesDelivered('live', 1);
        // A consumer that stops taking items is the transport's to watch: the SSE writer, the one
        // that waits for its connection to drain, closes it after `slowConsumerMs` of waiting; a
        // WebSocket never waits and meets the backlog bound above instead.
        yield item;
      }
      if (page.length < PAGE) {
        await waiter.wait();
        page = waiter.take(cursor, PAGE);
        handedOver = true;
      } else {
        page = undefined;
      }
    }
  } finally {
    waiter.stop();
  }
}
