// The soak's live subscribers: `perMailbox` per mailbox, subscriber i following mailbox
// floor(i / perMailbox); in the SDK mailboxes the first of them is an SDK subscription, every other
// one a raw SSE stream. All are streaming before the first send.
import http from 'node:http';
import { runPool } from '../bench-live-measure.mjs';
import { onTeardown, sleep } from '../bench-live-processes.mjs';
import { startRawSubscriber } from './raw-sse-subscriber.mjs';
import { startSdkSubscriber } from './sdk-subscriber.mjs';
import { createTally } from './tally.mjs';

const OPEN_CONCURRENCY = 50;
const CONNECT_TIMEOUT_MS = 30_000;

export function subscriberLayout(subscribers, perMailbox) {
  return Array.from({ length: subscribers }, (_, i) => Math.floor(i / perMailbox));
}

export function createConnectionEvents() {
  const events = {
    raw: { lost: createTally(), refused: createTally(), other: createTally(), attempts: 0 },
    sdk: { reconnecting: createTally(), ended: createTally(), unverified: createTally() },
    sdkUnreadable: createTally(),
  };
  events.rawHooks = {
    attempt: () => (events.raw.attempts += 1),
    lost: (reason) => events.raw.lost.add(reason),
    refused: (reason) => events.raw.refused.add(reason),
    count: (label) => events.raw.other.add(label),
  };
  events.sdkHooks = {
    reconnecting: (reason) => events.sdk.reconnecting.add(reason),
    ended: (reason) => events.sdk.ended.add(reason),
  };
  return events;
}

export async function startSubscribers({ relay, mailboxes, layout, perMailbox, ledger, events }) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const subscribers = [];
  const kinds = { raw: 0, sdk: 0 };
  // Registered first, so a failure while opening still closes whatever was opened.
  const stop = onTeardown(async () => {
    await Promise.all(
      subscribers.map((subscriber) =>
        Promise.race([subscriber?.stop().catch(() => undefined), sleep(10_000)]),
      ),
    );
    agent.destroy();
  });
  await runPool(layout.length, OPEN_CONCURRENCY, async (index) => {
    const mailbox = mailboxes[layout[index]];
    const useSdk = mailbox.identity !== undefined && index % perMailbox === 0;
    const subscriber = useSdk
      ? startSdkSubscriber({
          identity: mailbox.identity,
          onMessage: (id, seq) => ledger.receivedSeq(index, id, seq),
          onUnreadable: (entry) => {
            events.sdkUnreadable.add(entry.error);
            ledger.receivedUnreadable(index);
          },
          onUnverified: (reason) => events.sdk.unverified.add(reason),
          events: events.sdkHooks,
        })
      : startRawSubscriber({
          relay,
          relayId: relay.relayId,
          agentId: mailbox.agentId,
          keys: mailbox.keys,
          agent,
          onMessage: (id, ciphertext) => ledger.receivedCiphertext(index, id, ciphertext),
          events: events.rawHooks,
        });
    subscribers[index] = subscriber;
    kinds[useSdk ? 'sdk' : 'raw'] += 1;
    const started = await Promise.race([
      subscriber.connected.then(() => true),
      sleep(CONNECT_TIMEOUT_MS).then(() => false),
    ]);
    if (!started) throw new Error(`subscriber ${index} not streaming in ${CONNECT_TIMEOUT_MS} ms`);
  });
  /** `stop()` closes every subscription, each bounded to 10 s. */
  return { kinds, stop };
}
