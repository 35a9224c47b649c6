// Wake-ups across relay processes (PROTOCOL §4): ONE subscriber connection per store, a reference
// count per channel (SUBSCRIBE on the first watcher, UNSUBSCRIBE after the last) and local dispatch.
import { MESSAGE_ID_PATTERN } from '@deaddrop/contract';
import { compareMessageIds, type FreshMessage, type WakeListener } from '../mailbox-store.js';
import { callWakeListener } from '../wake-listener.js';
import type { PubSubConnection } from './pubsub-connection.js';

interface Watcher {
  readonly wake: WakeListener;
}

interface Channel {
  /** One object per watch() call, so the same function watched twice is counted twice. */
  readonly watchers: Set<Watcher>;
  /** SUBSCRIBE confirmed on the current connection. */
  live: boolean;
  /** A SUBSCRIBE for this entry is in flight. */
  pending: boolean;
  /** Appends through this store to this mailbox whose reply has not come back yet. */
  appending: number;
  /** The newest id handed to the watchers with its message; its notification wakes nobody. */
  delivered: string | undefined;
  /** The newest notified id held back while `appending`: likely one of ours, soon delivered. */
  held: string | undefined;
}

export class NotifySubscriber {
  private readonly channels = new Map<string, Channel>();
  /** UNSUBSCRIBEs not settled yet, by channel (see subscribe). */
  private readonly unsubscribing = new Map<string, Promise<void>>();
  private connection: PubSubConnection | undefined;
  private closed = false;

  /** `connect` makes the dedicated connection (subscriber mode allows no other commands). */
  constructor(private readonly connect: () => PubSubConnection) {}

  /**
   * Watchers are woken once as soon as their channel is live, since a message published before
   * SUBSCRIBE took effect would otherwise go unnoticed, then on every message on it.
   */
  watch(channel: string, wake: WakeListener): () => void {
    if (this.closed) return () => undefined;
    const watcher: Watcher = { wake };
    let entry = this.channels.get(channel);
    if (entry === undefined) {
      entry = {
        watchers: new Set([watcher]),
        live: false,
        pending: false,
        appending: 0,
        delivered: undefined,
        held: undefined,
      };
      this.channels.set(channel, entry);
      this.subscribe(channel, entry);
    } else {
      entry.watchers.add(watcher);
      if (entry.live) {
        const joined = entry;
        queueMicrotask(() => {
          if (joined.watchers.has(watcher)) callWakeListener(wake);
        });
      }
    }
    const watched = entry;
    return () => {
      if (!watched.watchers.delete(watcher) || watched.watchers.size > 0) return;
      if (this.channels.get(channel) !== watched) return;
      this.channels.delete(channel);
      // Ordered after any SUBSCRIBE on the same connection; a failure leaves a harmless extra channel.
      const connection = this.connection;
      if (connection === undefined) return;
      const settled: Promise<void> = connection
        .unsubscribe(channel)
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => {
          if (this.unsubscribing.get(channel) === settled) this.unsubscribing.delete(channel);
        });
      this.unsubscribing.set(channel, settled);
    };
  }

  /**
   * Called as an append through this store to `channel`'s mailbox starts; the function it returns
   * takes the stored message when the reply comes (undefined when nothing was stored). The
   * watchers here get the message itself, which spares their read. Redis writes the notification
   * to the subscriber connection before the script's reply, so notifications that arrive while
   * appends are in flight are held until the replies: one that a delivered message covers (an id
   * up to it: that message, or an older one, which a reader finds as a gap before it and reads)
   * wakes nobody; any other wakes the watchers once no append is in flight. It answers whether it
   * handed the message to a watcher.
   */
  appendStarted(channel: string): (fresh: FreshMessage | undefined) => boolean {
    const entry = this.channels.get(channel);
    if (!entry) return () => false;
    entry.appending++;
    return (fresh) => {
      entry.appending--;
      let handedOver = false;
      if (fresh !== undefined) {
        const id = fresh.message.id;
        if (!isAtOrBefore(id, entry.delivered)) entry.delivered = id;
        for (const watcher of [...entry.watchers]) callWakeListener(watcher.wake, fresh);
        handedOver = entry.watchers.size > 0;
      }
      if (entry.held === undefined) return handedOver;
      if (isAtOrBefore(entry.held, entry.delivered)) {
        entry.held = undefined;
      } else if (entry.appending === 0) {
        entry.held = undefined;
        this.wakeAll(channel);
      }
      return handedOver;
    };
  }

  close(): void {
    this.closed = true;
    this.channels.clear();
    const connection = this.connection;
    this.connection = undefined;
    // Nothing to wait for on a subscriber connection; disconnect() does not hang when Redis is down.
    connection?.disconnect();
  }

  private subscriberConnection(): PubSubConnection {
    if (this.connection) return this.connection;
    const connection = this.connect();
    connection.onMessage((channel, id) => {
      const entry = this.channels.get(channel);
      if (!entry) return;
      if (MESSAGE_ID_PATTERN.test(id)) {
        if (isAtOrBefore(id, entry.delivered)) return;
        if (entry.appending > 0) {
          if (!isAtOrBefore(id, entry.held)) entry.held = id;
          return;
        }
      }
      this.wakeAll(channel);
    });
    connection.onClose(() => {
      for (const entry of this.channels.values()) entry.live = false;
    });
    connection.onResync(() => {
      for (const channel of this.channels.keys()) this.wakeAll(channel);
    });
    // Resubscribe ourselves (autoResubscribe is off) so every channel gets its live wake-up again:
    // messages published while the connection was down were missed.
    connection.onReady(() => {
      for (const [channel, entry] of this.channels) {
        if (!entry.live && !entry.pending) this.subscribe(channel, entry);
      }
    });
    this.connection = connection;
    return connection;
  }

  private subscribe(channel: string, entry: Channel): void {
    entry.pending = true;
    // On a cluster, ioredis retries a command for a master that is down until a replica has taken
    // over, so an UNSUBSCRIBE sent before the failover can reach the new master after a SUBSCRIBE
    // sent since, and cancel it for good: subscribe once the channel's last UNSUBSCRIBE settled
    // (the shard subscriber has no command timeout, so it settles when ioredis is done with it).
    const unsubscribed = this.unsubscribing.get(channel);
    if (unsubscribed !== undefined) {
      void unsubscribed.then(() => {
        if (this.closed || this.channels.get(channel) !== entry) {
          entry.pending = false;
          return;
        }
        this.subscribe(channel, entry);
      });
      return;
    }
    this.subscriberConnection()
      .subscribe(channel)
      .then(
        () => {
          entry.pending = false;
          if (this.channels.get(channel) !== entry) return;
          entry.live = true;
          this.wakeAll(channel);
        },
        () => {
          // Retried on the next 'ready'.
          entry.pending = false;
        },
      );
  }

  private wakeAll(channel: string): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    for (const watcher of [...entry.watchers]) callWakeListener(watcher.wake);
  }
}

function isAtOrBefore(id: string, bound: string | undefined): boolean {
  return bound !== undefined && compareMessageIds(id, bound) <= 0;
}
