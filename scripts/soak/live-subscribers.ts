// The soak's live subscribers: `perMailbox` per mailbox, subscriber i following mailbox
// floor(i / perMailbox); in the SDK mailboxes the first of them is an SDK subscription, every other
// one a raw SSE stream. All are streaming before the first send.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { runPool } from '../load-support/run-pool.js';
import { onTeardown } from '../load-support/teardown.js';
import type { Ledger } from './ledger.js';
import type { SoakMailbox } from './mailboxes.js';
import {
  startRawSubscriber,
  type LiveSubscriber,
  type RawStreamHooks,
} from './raw-sse-subscriber.js';
import { startSdkSubscriber, type SdkSubscriptionHooks } from './sdk-subscriber.js';
import type { SoakRelay } from './relay-process.js';
import { createTally, type Tally } from './tally.js';

const OPEN_CONCURRENCY = 50;
const CONNECT_TIMEOUT_MS = 30_000;
const STOP_BOUND_MS = 10_000;

/** What happened to the subscribers' connections, by cause, and the hooks that count it. */
export interface ConnectionEvents {
  readonly raw: {
    readonly lost: Tally;
    readonly refused: Tally;
    readonly other: Tally;
    attempts: number;
  };
  readonly sdk: { readonly reconnecting: Tally; readonly ended: Tally; readonly unverified: Tally };
  readonly sdkUnreadable: Tally;
  readonly rawHooks: RawStreamHooks;
  readonly sdkHooks: SdkSubscriptionHooks;
}

export interface SubscriberKinds {
  raw: number;
  sdk: number;
}

/** The mailbox index each subscriber follows. */
export function subscriberLayout(subscribers: number, perMailbox: number): number[] {
  return Array.from({ length: subscribers }, (_, i) => Math.floor(i / perMailbox));
}

export function createConnectionEvents(): ConnectionEvents {
  const raw = { lost: createTally(), refused: createTally(), other: createTally(), attempts: 0 };
  const sdk = { reconnecting: createTally(), ended: createTally(), unverified: createTally() };
  return {
    raw,
    sdk,
    sdkUnreadable: createTally(),
    rawHooks: {
      attempt: () => {
        raw.attempts += 1;
      },
      lost: (reason) => {
        raw.lost.add(reason);
      },
      refused: (reason) => {
        raw.refused.add(reason);
      },
      count: (label) => {
        raw.other.add(label);
      },
    },
    sdkHooks: {
      reconnecting: (reason) => {
        sdk.reconnecting.add(reason);
      },
      ended: (reason) => {
        sdk.ended.add(reason);
      },
    },
  };
}

export interface SubscribersOptions {
  readonly relay: SoakRelay;
  readonly mailboxes: readonly SoakMailbox[];
  readonly layout: readonly number[];
  readonly perMailbox: number;
  readonly ledger: Ledger;
  readonly events: ConnectionEvents;
}

/** Opens every subscriber; `stop()` closes every subscription, each bounded to 10 s. */
export async function startSubscribers({
  relay,
  mailboxes,
  layout,
  perMailbox,
  ledger,
  events,
}: SubscribersOptions): Promise<{ kinds: SubscriberKinds; stop: () => Promise<void> }> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const subscribers: LiveSubscriber[] = [];
  const kinds: SubscriberKinds = { raw: 0, sdk: 0 };
  // Registered first, so a failure while opening still closes whatever was opened.
  const stop = onTeardown(async () => {
    await Promise.all(
      subscribers.map((subscriber) =>
        Promise.race([subscriber.stop().catch(() => undefined), sleep(STOP_BOUND_MS)]),
      ),
    );
    agent.destroy();
  });
  await runPool(layout.length, OPEN_CONCURRENCY, async (index) => {
    const mailbox = mailboxes[layout[index] ?? -1];
    if (mailbox === undefined) throw new Error(`subscriber ${index} has no mailbox`);
    const { identity } = mailbox;
    const useSdk = identity !== undefined && index % perMailbox === 0;
    const subscriber = useSdk
      ? startSdkSubscriber({
          identity,
          onMessage: (id, seq) => {
            ledger.receivedSeq(index, id, seq);
          },
          onUnreadable: (entry) => {
            events.sdkUnreadable.add(entry.error);
            ledger.receivedUnreadable(index);
          },
          onUnverified: (reason) => {
            events.sdk.unverified.add(reason);
          },
          events: events.sdkHooks,
        })
      : startRawSubscriber({
          relay,
          relayId: relay.relayId,
          agentId: mailbox.agentId,
          keys: mailbox.keys,
          agent,
          onMessage: (id, ciphertext) => {
            ledger.receivedCiphertext(index, id, ciphertext);
          },
          events: events.rawHooks,
        });
    subscribers.push(subscriber);
    kinds[useSdk ? 'sdk' : 'raw'] += 1;
    const started = await Promise.race([
      subscriber.connected.then(() => true),
      sleep(CONNECT_TIMEOUT_MS).then(() => false),
    ]);
    if (!started) throw new Error(`subscriber ${index} not streaming in ${CONNECT_TIMEOUT_MS} ms`);
  });
  return { kinds, stop };
}
