// The store conformance suite on a real 3-master Redis Cluster (started from the machine's
// redis-server by scripts/test-support/redis-cluster.ts): every script touches one slot, the
// notifications travel on sharded pub/sub, and the sweep walks every master.
// @module-tag slow (a Redis Cluster): npm test only, not npm run test:fast
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startRedisCluster, type RedisClusterHandle } from '@deaddrop/test-support/redis-cluster';
import type { MailboxStore, StoreOptions } from '../src/store/mailbox-store.js';
import { RedisMailboxStore } from '../src/store/redis/redis-mailbox-store.js';
import { coalescesWrites } from '../src/store/redis/coalesced-writes.js';
import { openCluster } from '../src/store/redis/redis-connection.js';
import { describeMailboxStore } from './store-conformance.js';
import {
  DEFAULT_OPTIONS,
  expectStored,
  messageTo,
  registerNew,
  sleepUntil,
  watchCounting,
} from './store-conformance/fixtures.js';

let cluster: RedisClusterHandle;
const RUN_PREFIX = `c${process.pid}-${randomBytes(3).toString('hex')}:`;
let storeCount = 0;
const prefixes = new WeakMap<MailboxStore, string>();

function seeds() {
  return cluster.seeds.split(',').map((seed) => {
    const [host = '', port = ''] = seed.split(':');
    return { host, port: Number(port) };
  });
}

function makeStore(options: StoreOptions, keyPrefix = `${RUN_PREFIX}${String(++storeCount)}:`) {
  const store = RedisMailboxStore.connectCluster(seeds(), { ...options, keyPrefix });
  prefixes.set(store, keyPrefix);
  return store;
}

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, appendonly: false });
}, 60_000);

afterAll(async () => {
  await cluster.stop();
});

describeMailboxStore('redis cluster', (options) => Promise.resolve(makeStore(options)), {
  async reopen(store, options) {
    const prefix = prefixes.get(store);
    await store.close();
    return makeStore(options, prefix);
  },
});

describe('RedisMailboxStore on a cluster', () => {
  it('wakes watchers in another process through sharded pub/sub, on every master', async () => {
    const keyPrefix = `${RUN_PREFIX}x:`;
    const [here, there] = [
      makeStore(DEFAULT_OPTIONS, keyPrefix),
      makeStore(DEFAULT_OPTIONS, keyPrefix),
    ];
    try {
      // Enough mailboxes that their slots fall on all three masters.
      const agents = await Promise.all(Array.from({ length: 12 }, () => registerNew(here)));
      const watchers = agents.map((agentId) => watchCounting(there, agentId));
      expect(await Promise.all(watchers.map((watcher) => watcher.next(5_000)))).toEqual(
        agents.map(() => true),
      );
      const woken = watchers.map((watcher) => watcher.next(5_000));
      await Promise.all(agents.map((agentId) => here.append(messageTo(agentId))));
      expect(await Promise.all(woken)).toEqual(agents.map(() => true));
      for (const watcher of watchers) watcher.stop();
    } finally {
      await Promise.all([here.close(), there.close()]);
    }
  });

  it('sweeps expired messages of idle mailboxes on every master', async () => {
    const store = makeStore({ ttlSeconds: 1, maxMessages: 10 });
    try {
      const agents = await Promise.all(Array.from({ length: 12 }, () => registerNew(store)));
      const stored = await Promise.all(
        agents.map(async (agentId) => expectStored(await store.append(messageTo(agentId)))),
      );
      await sleepUntil(Math.max(...stored.map((message) => message.expiresAt)));
      expect(await store.sweepExpired()).toBe(12);
    } finally {
      await store.close();
    }
  });

  it("coalesces each master's writes per turn (coalesced-writes.ts), as on a single Redis", async () => {
    const client = openCluster(seeds(), `${RUN_PREFIX}w:`);
    try {
      // Keys enough to land on every master; all issued in one turn.
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      expect(await Promise.all(keys.map((key) => client.set(key, key, 'PX', 60_000)))).toEqual(
        keys.map(() => 'OK'),
      );
      const masters = client.nodes('master');
      expect(masters).toHaveLength(3);
      expect(masters.map((node) => coalescesWrites(node.stream))).toEqual([true, true, true]);
    } finally {
      client.disconnect();
    }
  });
});
