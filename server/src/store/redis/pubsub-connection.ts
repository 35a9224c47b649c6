// The pub/sub side of the store's subscriber connection: classic channels on a single Redis
// (SUBSCRIBE, `message`), shard channels on a Redis Cluster (SSUBSCRIBE, `smessage`, PROTOCOL §4),
// where ioredis keeps one subscriber connection per master and resubscribes after topology changes.
import type { Cluster, Redis } from 'ioredis';

export interface PubSubConnection {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  onMessage(listener: (channel: string, payload: string) => void): void;
  /** After a (re)connection on which channels must be subscribed again. */
  onReady(listener: () => void): void;
  /** The subscriptions are gone (connection lost). */
  onClose(listener: () => void): void;
  /**
   * Notifications may have been missed though the subscriptions stand (a cluster node left and
   * ioredis moved its shard channels): watchers should re-read.
   */
  onResync(listener: () => void): void;
  disconnect(): void;
}

export function classicPubSub(connection: Redis): PubSubConnection {
  // Failures show up as missing wake-ups, which readers' catch-up reads cover.
  connection.on('error', () => undefined);
  return {
    subscribe: (channel) => connection.subscribe(channel),
    unsubscribe: (channel) => connection.unsubscribe(channel),
    onMessage: (listener) => connection.on('message', listener),
    onReady: (listener) => connection.on('ready', listener),
    onClose: (listener) => connection.on('close', listener),
    onResync: () => undefined,
    disconnect: () => {
      connection.disconnect();
    },
  };
}

/**
 * ioredis treats shard channels as keys: it adds the client's key prefix to the channels it
 * subscribes (and reports them with it), so the prefixed names the store uses lose it on the way in.
 */
export function shardedPubSub(cluster: Cluster, keyPrefix: string): PubSubConnection {
  // Errors while a master is down come many times a second; the outage shows in the main client.
  cluster.on('error', () => undefined);
  cluster.on('node error', () => undefined);
  cluster.on('nodeError', () => undefined);
  const unprefixed = (channel: string): string =>
    channel.startsWith(keyPrefix) ? channel.slice(keyPrefix.length) : channel;
  return {
    subscribe: (channel) => cluster.ssubscribe(unprefixed(channel)),
    unsubscribe: (channel) => cluster.sunsubscribe(unprefixed(channel)),
    onMessage: (listener) => cluster.on('smessage', listener),
    onReady: (listener) => cluster.on('ready', listener),
    onClose: (listener) => cluster.on('close', listener),
    onResync: (listener) => {
      cluster.on('-node', listener);
    },
    disconnect: () => {
      cluster.disconnect();
    },
  };
}
