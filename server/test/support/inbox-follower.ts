// A live SSE subscriber for fault tests that keeps following a mailbox across relay and store
// outages, recording every id the relay delivered and what happened to its connection.
import { sseClient } from './live-clients.js';
import { authHeader, type TestAgent } from './relay-harness.js';

export interface InboxFollower {
  /** The ids received, over every subscription, in order of arrival. */
  ids(): string[];
  /** Subscriptions started again after one ended with an error. */
  restarts(): number;
  /** Connection states and errors, timed from `origin()`, for failure messages. */
  events(): string[];
  close(): void;
}

const RESTART_DELAY_MS = 250;

/**
 * tRPC's link reconnects by itself (resuming with Last-Event-ID); when a subscription ends with an
 * error instead (a reconnect refused with 503, say), a new one starts after the last id received.
 * Every id recorded came from the relay once, so a duplicate among them is the relay's.
 */
export function followInbox(
  url: string,
  relayId: string,
  agent: TestAgent,
  origin: () => number,
): InboxFollower {
  const client = sseClient(url, () => authHeader(relayId, agent, 'inbox'));
  const ids: string[] = [];
  const events: string[] = [];
  const note = (event: string): void => {
    events.push(`${String(Date.now() - origin())} ms ${event}`);
  };
  let restarts = 0;
  let closed = false;
  let current: { unsubscribe(): void } | undefined;
  const start = (): void => {
    if (closed) return;
    const after = ids.at(-1);
    current = client.inbox.subscribe(after === undefined ? {} : { after }, {
      onStarted: () => {
        note('started');
      },
      onData: (event) => {
        ids.push(event.id);
      },
      onConnectionStateChange: (state) => {
        note(`${state.state}${state.error === null ? '' : `: ${state.error.message}`}`);
      },
      onError: (error) => {
        note(`ended: ${String(error)}`);
        current?.unsubscribe();
        if (closed) return;
        restarts++;
        setTimeout(start, RESTART_DELAY_MS);
      },
    });
  };
  start();
  return {
    ids: () => [...ids],
    restarts: () => restarts,
    events: () => [...events],
    close: () => {
      closed = true;
      current?.unsubscribe();
    },
  };
}
