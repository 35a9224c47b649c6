// Wake-ups across relay processes (PROTOCOL §4): ONE subscriber connection per store, a reference
// count per channel (SUBSCRIBE on the first watcher, UNSUBSCRIBE after the last) and local dispatch.
import type { Redis } from 'ioredis';
import type { WakeListener } from '../mailbox-store.js';
import { callWakeListener } from '../wake-listener.js';

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
}

export class NotifySubscriber {
  private readonly channels = new Map<string, Channel>();
  private connection: Redis | undefined;
  private closed = false;

  /** `connect` makes the dedicated connection (subscriber mode allows no other commands). */
  constructor(private readonly connect: () => Redis) {}

  /**
   * Watchers are woken once as soon as their channel is live, since a message published before
   * SUBSCRIBE took effect would otherwise go unnoticed, then on every message on it.
   */
  watch(channel: string, wake: WakeListener): () => void {
    if (this.closed) return () => undefined;
    const watcher: Watcher = { wake };
    let entry = this.channels.get(channel);
    if (entry === undefined) {
      entry = { watchers: new Set([watcher]), live: false, pending: false };
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
      this.connection?.unsubscribe(channel).catch(() => undefined);
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

  private subscriberConnection(): Redis {
    if (this.connection) return this.connection;
    const connection = this.connect();
    connection.on('message', (channel: string) => {
      this.wakeAll(channel);
    });
    // Failures show up as missing wake-ups, which readers' timeouts and catch-up reads cover; the
    // main connection reports them to callers.
    connection.on('error', () => undefined);
    connection.on('close', () => {
      for (const entry of this.channels.values()) entry.live = false;
    });
    // Resubscribe ourselves (autoResubscribe is off) so every channel gets its live wake-up again:
    // messages published while the connection was down were missed.
    connection.on('ready', () => {
      for (const [channel, entry] of this.channels) {
        if (!entry.live && !entry.pending) this.subscribe(channel, entry);
      }
    });
    this.connection = connection;
    return connection;
  }

  private subscribe(channel: string, entry: Channel): void {
    entry.pending = true;
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
