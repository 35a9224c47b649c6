// Picks the store driver from configuration (PROTOCOL §5): Redis when REDIS_URL is set, a Redis
// Cluster when REDIS_CLUSTER_NODES is, else the embedded SQLite store under the data dir.
import { EmbeddedMailboxStore } from './embedded/embedded-mailbox-store.js';
import type { MailboxStore, StoreOptions } from './mailbox-store.js';
import {
  RedisMailboxStore,
  type ClusterSeed,
  type ReplicaWait,
} from './redis/redis-mailbox-store.js';

export interface CreateStoreConfig extends StoreOptions {
  readonly redisUrl?: string | undefined;
  /** Seed nodes of a Redis Cluster. */
  readonly redisClusterNodes?: readonly ClusterSeed[];
  /** Replicas a send waits for before it is acknowledged (Redis only). */
  readonly redisWait?: ReplicaWait;
  /** Used by the embedded store only. */
  readonly dataDir: string;
  /** Used by the Redis store only: prepended to every key and channel. */
  readonly keyPrefix?: string;
}

export function createMailboxStore(config: CreateStoreConfig): Promise<MailboxStore> {
  const options: StoreOptions = { ttlSeconds: config.ttlSeconds, maxMessages: config.maxMessages };
  try {
    const redis = {
      ...options,
      keyPrefix: config.keyPrefix ?? '',
      ...(config.redisWait === undefined ? {} : { wait: config.redisWait }),
    };
    if (config.redisClusterNodes !== undefined && config.redisClusterNodes.length > 0)
      return Promise.resolve(RedisMailboxStore.connectCluster(config.redisClusterNodes, redis));
    return Promise.resolve(
      config.redisUrl
        ? RedisMailboxStore.connect(config.redisUrl, redis)
        : EmbeddedMailboxStore.open(config.dataDir, options),
    );
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
