// How the Redis store connects: one client (single Redis) or a Cluster client, both failing fast
// while Redis is away, and the client that subscribes to shard channels on a cluster.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { assertValidKeyPrefix } from './keys.js';
import { boundOfflineQueue } from './offline-queue-bound.js';
import { coalesceClusterWritesPerTurn, coalesceWritesPerTurn } from './coalesced-writes.js';

/**
 * A request must fail (→ 503) rather than hang while Redis is away: a command is given one
 * reconnection attempt (`maxRetriesPerRequest`) and 2 s in all (`commandTimeout`, which also
 * bounds how long its caller waits in the offline queue). The offline queue stays on so commands
 * issued during a blip are sent once the connection is back, but only for a short grace after the
 * connection was lost (boundOfflineQueue: ioredis puts no limit on the queue); then commands are
 * refused at once. Reconnection goes on in the background. A command that timed out may still run
 * later: appends are idempotent, so a retry is safe.
 */
export const FAIL_FAST_REDIS_OPTIONS = {
  // Off: ioredis keeps one auto-pipeline in flight per client, so while Redis stalls a command
  // waits behind it before its own timeout starts — up to twice `commandTimeout` before a 503
  // (server/test/redis-stall-fail-fast.test.ts). Its saving, one write for many commands, comes
  // from coalesced-writes.ts instead, which keeps each command's timeout.
  enableAutoPipelining: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2_000,
  connectTimeout: 2_000,
  enableOfflineQueue: true,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
} satisfies RedisOptions;

export interface ClusterSeed {
  readonly host: string;
  readonly port: number;
}

/** A single Redis or a Redis Cluster: the store uses what both offer. */
export type RedisConnection = Redis | Cluster;

/** The latest connection error of each client: commands fail with less telling errors. */
const lastErrors = new WeakMap<RedisConnection, Error>();

/** Why `client` could not connect lately, in the socket's own words (`connect ECONNREFUSED …`). */
export function lastConnectionError(client: RedisConnection): Error | undefined {
  return lastErrors.get(client);
}

/**
 * Redis URL for messages and logs: the password replaced by `***`, and every query parameter's
 * value too (ioredis takes options from the query, `?password=` among them).
 */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    for (const name of [...parsed.searchParams.keys()]) parsed.searchParams.set(name, '***');
    return parsed.toString().replaceAll('%2A%2A%2A', '***');
  } catch {
    return '(an unparsable URL)';
  }
}

function remember(client: RedisConnection): (error: Error) => void {
  return (error) => {
    lastErrors.set(client, error);
  };
}

/** A client for `url` with the fail-fast options and `keyPrefix` on every key and channel. */
export function openRedis(url: string, keyPrefix: string): Redis {
  assertValidKeyPrefix(keyPrefix);
  const client = new Redis(url, { ...FAIL_FAST_REDIS_OPTIONS, keyPrefix });
  // Failures reach callers as rejected commands; without a listener ioredis would log each one.
  client.on('error', remember(client));
  boundOfflineQueue(client);
  coalesceWritesPerTurn(client);
  return client;
}

/** A Cluster client from a few seed nodes (the rest are discovered), with sharded pub/sub. */
export function openCluster(seeds: readonly ClusterSeed[], keyPrefix: string): Cluster {
  assertValidKeyPrefix(keyPrefix);
  const { retryStrategy, enableOfflineQueue, ...perNode } = FAIL_FAST_REDIS_OPTIONS;
  const cluster = new Cluster(
    seeds.map(({ host, port }) => ({ host, port })),
    {
      // At the top level: under redisOptions, ioredis 6 resubscribes shard channels after a
      // failover with the prefix twice.
      keyPrefix,
      redisOptions: perNode,
      enableOfflineQueue,
      clusterRetryStrategy: retryStrategy,
      // A failover moves slots: follow MOVED at once and retry briefly while a replica takes over.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      shardedSubscribers: true,
    },
  );
  cluster.on('error', remember(cluster));
  cluster.on('node error', remember(cluster));
  boundOfflineQueue(cluster);
  coalesceClusterWritesPerTurn(cluster);
  return cluster;
}

/** The key prefix a client was opened with ('' for none). */
export function keyPrefixOf(client: RedisConnection): string {
  return (client instanceof Cluster ? client.options.keyPrefix : client.options.keyPrefix) ?? '';
}

/**
 * The cluster client for shard channel subscriptions: a duplicate without a command timeout. A
 * timeout only rejects the caller's promise: ioredis goes on retrying a command for a master that
 * is down until a replica has taken over, so an SUNSUBSCRIBE that "timed out" could still reach the
 * new master after a later SSUBSCRIBE of the same channel, and cancel it. Without one, SUNSUBSCRIBE
 * settles when ioredis is done with it, and NotifySubscriber sends the next SSUBSCRIBE after that.
 */
export function shardSubscriberCluster(client: Cluster): Cluster {
  // Set, not left out: duplicate() merges these over the client's own redisOptions.
  return client.duplicate(undefined, {
    shardedSubscribers: true,
    redisOptions: { commandTimeout: undefined },
  });
}
