// The Redis Cluster test helper (scripts/test-support/redis-cluster.ts) on real redis-server
// processes, through the client the Redis store uses: ioredis's `Cluster` serves keys on every
// master, sharded pub/sub (SPUBLISH / SSUBSCRIBE with `shardedSubscribers`) delivers, and after a
// master is SIGKILLed a replica takes over its slots, keys, scripts and shard channels.
// @module-tag slow (Redis Clusters): npm test only, not npm run test:fast
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '@deaddrop/test-support/redis-cluster';

/** Hash tags over many slots; the slot split of `redis-cli --cluster create` is fixed. */
const KEYS = Array.from({ length: 60 }, (_, i) => `{tag-${i}}key`);
const PREFIX = 'helper-test:';
const MESSAGE_TIMEOUT_MS = 5_000;

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startCluster(replicasPerMaster: number): Promise<RedisClusterHandle> {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster });
  cleanups.push(() => cluster.stop());
  return cluster;
}

function clusterClient(cluster: RedisClusterHandle, shardedSubscribers = false): Cluster {
  const client = new Cluster(cluster.seeds.split(','), { keyPrefix: PREFIX, shardedSubscribers });
  // Connection errors while a master is down are expected; the commands report what matters.
  client.on('error', () => undefined);
  cleanups.push(async () => {
    client.disconnect();
    return Promise.resolve();
  });
  return client;
}

/** Keys (without the client's prefix) stored on the master at `port`, read from it directly. */
async function keysOn(port: number): Promise<string[]> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  try {
    await redis.connect();
    return (await redis.keys(`${PREFIX}*`)).map((key) => key.slice(PREFIX.length));
  } finally {
    redis.disconnect();
  }
}

/** Collects the sharded messages `subscriber` gets on `channel` (delivered with the prefix). */
function collectMessages(subscriber: Cluster, channel: string): string[] {
  const received: string[] = [];
  subscriber.on('smessage', (to: string, message: string) => {
    if (to === `${PREFIX}${channel}`) received.push(message);
  });
  return received;
}

async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + MESSAGE_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${MESSAGE_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The script `defineCommand` adds to the client at run time. */
interface WithSwapValue {
  swapValue(key: string, value: string): Promise<string | null>;
}

describe('startRedisCluster', () => {
  it('serves keys on all three masters and sharded pub/sub through ioredis', async () => {
    const cluster = await startCluster(0);
    expect(cluster.nodes.map((node) => node.role)).toEqual(['master', 'master', 'master']);
    expect(cluster.seeds.split(',')).toHaveLength(3);

    const client = clusterClient(cluster);
    for (const key of KEYS) await client.set(key, `value of ${key}`);
    for (const key of KEYS) expect(await client.get(key)).toBe(`value of ${key}`);
    const perMaster = await Promise.all(cluster.nodes.map((node) => keysOn(node.port)));
    for (const keys of perMaster) expect(keys.length).toBeGreaterThan(0);
    expect(perMaster.flat().sort()).toEqual([...KEYS].sort());

    // One shard channel on each master: the keys' own hash tags say where.
    const subscriber = clusterClient(cluster, true);
    const channels = perMaster.map((keys) => (keys[0] ?? '').replace('key', 'channel'));
    for (const channel of channels) {
      const received = collectMessages(subscriber, channel);
      expect(await subscriber.ssubscribe(channel)).toBeGreaterThan(0);
      expect(await client.spublish(channel, `to ${channel}`)).toBe(1);
      await eventually(() => received.length > 0, `a message on ${channel}`);
      expect(received).toEqual([`to ${channel}`]);
    }
  });

  it('fails a SIGKILLed master over to its replica, which then serves its slots', async () => {
    const cluster = await startCluster(1);
    expect(cluster.nodes.filter((node) => node.role === 'replica')).toHaveLength(3);

    const client = clusterClient(cluster) as Cluster & WithSwapValue;
    client.defineCommand('swapValue', {
      numberOfKeys: 1,
      lua: "local old = redis.call('GET', KEYS[1]); redis.call('SET', KEYS[1], ARGV[1]); return old",
    });
    for (const key of KEYS) await client.set(key, 'before');
    // WAIT on each master's own connection: every write is on a replica before the kill.
    for (const master of client.nodes('master')) {
      expect(await master.call('WAIT', '1', '2000')).toBe(1);
    }

    const [victim] = await cluster.masters();
    if (victim === undefined) throw new Error('no master');
    const [replica] = await cluster.replicasOf(victim.port);
    expect(replica?.port).toBeDefined();
    const moved = await keysOn(victim.port);
    expect(moved.length).toBeGreaterThan(0);
    const movedKey = moved[0] ?? '';
    const channel = movedKey.replace('key', 'channel');
    const subscriber = clusterClient(cluster, true);
    const received = collectMessages(subscriber, channel);
    await subscriber.ssubscribe(channel);

    await cluster.kill(victim.port);
    expect(cluster.running(victim.port)).toBe(false);
    const newMaster = await cluster.waitForFailover(victim.port, 20_000);
    expect(newMaster.port).toBe(replica?.port);
    expect((await cluster.masters()).map((node) => node.port)).toContain(newMaster.port);

    for (const key of KEYS) expect(await client.get(key)).toBe('before');
    await client.set(movedKey, 'after');
    expect(await client.get(movedKey)).toBe('after');
    // The script was loaded on the old master only: ioredis falls back to EVAL on NOSCRIPT.
    expect(await client.swapValue(movedKey, 'swapped')).toBe('after');
    expect(await client.get(movedKey)).toBe('swapped');

    // The sharded subscriber moves to the new master by itself once ioredis sees the new map.
    await eventually(
      async () => (await client.spublish(channel, 'after failover')) === 1,
      `a subscriber on ${channel} again`,
    );
    await eventually(() => received.includes('after failover'), 'the message after failover');
  });
});
