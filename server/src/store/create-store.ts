// Picks the store driver from configuration (PROTOCOL §5): Redis when REDIS_URL is set, else the
// embedded SQLite store under the data dir.
import { EmbeddedMailboxStore } from './embedded/embedded-mailbox-store.js';
import type { MailboxStore, StoreOptions } from './mailbox-store.js';
import { RedisMailboxStore } from './redis/redis-mailbox-store.js';

export interface CreateStoreConfig extends StoreOptions {
  readonly redisUrl?: string;
  /** Used by the embedded store only. */
  readonly dataDir: string;
  /** Used by the Redis store only: prepended to every key and channel. */
  readonly keyPrefix?: string;
}

export function createMailboxStore(config: CreateStoreConfig): Promise<MailboxStore> {
  const options: StoreOptions = { ttlSeconds: config.ttlSeconds, maxMessages: config.maxMessages };
  try {
    return Promise.resolve(
      config.redisUrl
        ? RedisMailboxStore.connect(config.redisUrl, {
            ...options,
            keyPrefix: config.keyPrefix ?? '',
          })
        : EmbeddedMailboxStore.open(config.dataDir, options),
    );
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
