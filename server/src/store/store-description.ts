// Which store a configuration names, in words for an operator (a Redis password never shown), and
// the error a relay that cannot reach it at start stops with.
import type { RelayConfig } from '../env.js';
import { StoreUnavailableError, type MailboxStore } from './mailbox-store.js';
import { redactedRedisUrl } from './redis/redis-connection.js';

function describeStore(config: RelayConfig): string {
  if (config.redisClusterNodes.length > 0)
    return `the Redis Cluster at ${config.redisClusterNodes.map(({ host, port }) => `${host}:${port}`).join(',')} (REDIS_CLUSTER_NODES)`;
  if (config.redisUrl !== undefined)
    return `Redis at ${redactedRedisUrl(config.redisUrl)} (REDIS_URL)`;
  return `the embedded store in ${config.dataDir} (DEADDROP_DATA_DIR)`;
}

/**
 * `error` as the reason the relay cannot start on `store`, naming the store and the cause. A store
 * handed to startRelay by its caller is not the one the configuration names, so it goes by its kind.
 */
export function storeStartError(
  config: RelayConfig,
  store: MailboxStore,
  error: unknown,
  givenByCaller: boolean,
): Error {
  if (!(error instanceof StoreUnavailableError))
    return error instanceof Error ? error : new Error(String(error));
  const cause =
    store.unreachableBecause?.() ??
    (error.cause instanceof Error ? error.cause.message : error.message);
  const which = givenByCaller
    ? `the ${store.kind} store given to startRelay`
    : describeStore(config);
  return new Error(`cannot reach ${which}: ${cause}`, { cause: error });
}
