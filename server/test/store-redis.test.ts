// The conformance suite and Redis-only checks, on the real Redis at REDIS_URL. Every store gets
// its own key prefix under this run's prefix; everything under it is deleted afterwards.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createMailboxStore } from '../src/store/create-store.js';
import {
  StoreUnavailableError,
  type MailboxStore,
  type StoreOptions,
} from '../src/store/mailbox-store.js';
import { perMinute } from '../src/limits/token-bucket.js';
import { mailboxKeys } from '../src/store/redis/keys.js';
import {
  FAIL_FAST_REDIS_OPTIONS,
  RedisMailboxStore,
} from '../src/store/redis/redis-mailbox-store.js';
import { describeMailboxStore } from './store-conformance.js';
import {
  DEFAULT_OPTIONS,
  expectStored,
  messageTo,
  registerNew,
  watchCounting,
} from './store-conformance/fixtures.js';
import { clientIds, deleteKeys, dumpKeys, waitFor } from './fixtures/redis-inspect.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN_PREFIX = `t${process.pid}-${randomBytes(4).toString('hex')}:`;
const admin = new Redis(REDIS_URL);
const prefixes = new WeakMap<MailboxStore, string>();
let storeCount = 0;

function nextPrefix(): string {
  storeCount += 1;
  return `${RUN_PREFIX}${storeCount}:`;
}

function prefixOf(store: MailboxStore): string {
  const prefix = prefixes.get(store);
  if (prefix === undefined) throw new Error('store not made by this suite');
  return prefix;
}

function makeStore(options: StoreOptions, keyPrefix = nextPrefix()): RedisMailboxStore {
  const store = RedisMailboxStore.connect(REDIS_URL, { ...options, keyPrefix });
  prefixes.set(store, keyPrefix);
  return store;
}

afterAll(async () => {
  await deleteKeys(admin, RUN_PREFIX);
  await admin.quit();
});

describeMailboxStore('redis', (options) => Promise.resolve(makeStore(options)), {
  async reopen(store, options) {
    await store.close();
    return makeStore(options, prefixOf(store));
  },
  rawContents: (store) => dumpKeys(admin, prefixOf(store)),
});

describe('RedisMailboxStore', () => {
  it('stores stream entries holding only the ciphertext and its size, on a stream that never expires', async () => {
    const store = makeStore(DEFAULT_OPTIONS);
    try {
      const agentId = await registerNew(store);
      const input = messageTo(agentId);
      const stored = expectStored(await store.append(input));
      const inbox = prefixOf(store) + mailboxKeys(agentId).inbox;
      expect(await admin.xrange(inbox, '-', '+')).toEqual([
        [stored.id, ['c', input.ciphertext, 'b', String(input.bytes)]],
      ]);
      expect(await admin.pttl(inbox)).toBe(-1);
    } finally {
      await store.close();
    }
  });

  it('uses one subscriber connection for all watchers, subscribing each channel once', async () => {
    const connectionName = `dd-test-${randomBytes(4).toString('hex')}`;
    const keyPrefix = nextPrefix();
    const client = new Redis(REDIS_URL, { ...FAIL_FAST_REDIS_OPTIONS, keyPrefix, connectionName });
    const store = new RedisMailboxStore(client, DEFAULT_OPTIONS);
    try {
      const agents = await Promise.all(Array.from({ length: 10 }, () => registerNew(store)));
      const watchers = agents.flatMap((agentId) => [
        watchCounting(store, agentId),
        watchCounting(store, agentId),
      ]);
      await Promise.all(watchers.map((watcher) => watcher.next()));

      expect(await clientIds(admin, connectionName)).toHaveLength(2);
      const channel = keyPrefix + mailboxKeys(agents[0] ?? '').notify;
      expect(await admin.call('PUBSUB', 'NUMSUB', channel)).toEqual([channel, 1]);

      for (const watcher of watchers) watcher.stop();
      expect(
        await waitFor(
          async () => (await admin.call('PUBSUB', 'NUMSUB', channel)) as unknown[],
          ([, n]) => n === 0,
        ),
      ).toEqual([channel, 0]);

      // Not made by connect(): closing the store leaves the caller's client open.
      await store.close();
      expect(await client.ping()).toBe('PONG');
    } finally {
      await store.close();
      await client.quit();
    }
  });

  it('wakes watchers in other processes by notification alone, without the message', async () => {
    const keyPrefix = nextPrefix();
    const [here, there] = [
      makeStore(DEFAULT_OPTIONS, keyPrefix),
      makeStore(DEFAULT_OPTIONS, keyPrefix),
    ];
    try {
      const agentId = await registerNew(here);
      const calls = { here: [] as unknown[], there: [] as unknown[] };
      const live = [here, there].map(
        (store, index) =>
          new Promise<() => void>((resolve) => {
            const list = index === 0 ? calls.here : calls.there;
            const stop = store.watch(agentId, (fresh) => {
              if (list.length === 0) resolve(stop);
              list.push(fresh);
            });
          }),
      );
      const stops = await Promise.all(live);
      calls.here.length = 0;
      calls.there.length = 0;

      const stored = expectStored(await here.append(messageTo(agentId)));
      const arrived = await waitFor(
        () => Promise.resolve(calls.there.length),
        (count) => count > 0,
      );
      expect(arrived).toBe(1);
      expect(calls.there).toEqual([undefined]);
      const [message] = await here.read(agentId, '0-0', 1);
      expect(message?.id).toBe(stored.id);
      expect(calls.here).toEqual([{ after: '0-0', message }]);
      for (const stop of stops) stop();
    } finally {
      await Promise.all([here.close(), there.close()]);
    }
  });

  it('shares rate-limit buckets between relay processes on one Redis', async () => {
    const keyPrefix = nextPrefix();
    const [one, two] = [
      makeStore(DEFAULT_OPTIONS, keyPrefix),
      makeStore(DEFAULT_OPTIONS, keyPrefix),
    ];
    try {
      const four = perMinute(4);
      const taken = [];
      for (const store of [one, two, one, two])
        taken.push(await store.takeTokens('::1', 'calls', four));
      expect(taken).toEqual([0, 0, 0, 0]);
      expect(await one.takeTokens('::1', 'calls', four)).toBeGreaterThan(0);
      expect(await two.takeTokens('::1', 'calls', four)).toBeGreaterThan(0);
      // The bucket lives outside every mailbox slot, with the address as its hash tag, and expires.
      const key = `${keyPrefix}dd:rl:{::1}:calls`;
      expect(await admin.pttl(key)).toBeGreaterThan(0);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('resubscribes and wakes watchers after the subscriber connection drops', async () => {
    const connectionName = `dd-test-${randomBytes(4).toString('hex')}`;
    const client = new Redis(REDIS_URL, {
      ...FAIL_FAST_REDIS_OPTIONS,
      keyPrefix: nextPrefix(),
      connectionName,
    });
    const store = new RedisMailboxStore(client, DEFAULT_OPTIONS);
    try {
      const agentId = await registerNew(store);
      const watcher = watchCounting(store, agentId);
      expect(await watcher.next()).toBe(true);

      const [subscriberId] = await clientIds(admin, connectionName, 'pubsub');
      const relive = watcher.next(5_000);
      await admin.call('CLIENT', 'KILL', 'ID', subscriberId ?? '');
      expect(await relive).toBe(true);

      const woken = watcher.next();
      await store.append(messageTo(agentId));
      expect(await woken).toBe(true);
      watcher.stop();
    } finally {
      await store.close();
      await client.quit();
    }
  });

  it('fails fast with StoreUnavailableError when Redis cannot be reached', async () => {
    const store = RedisMailboxStore.connect('redis://127.0.0.1:1', DEFAULT_OPTIONS);
    try {
      const started = Date.now();
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.append(messageTo('someone'))).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
      await expect(store.sweepExpired()).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(7_000);
    } finally {
      await store.close();
    }
  });

  it('refuses a key prefix that would move the hash tag', () => {
    expect(() =>
      RedisMailboxStore.connect(REDIS_URL, { ...DEFAULT_OPTIONS, keyPrefix: 'x{y}:' }),
    ).toThrow(RangeError);
  });

  it('is what createMailboxStore makes when a Redis URL is given', async () => {
    const store = await createMailboxStore({
      ...DEFAULT_OPTIONS,
      redisUrl: REDIS_URL,
      dataDir: '/nonexistent',
      keyPrefix: nextPrefix(),
    });
    try {
      expect(store.kind).toBe('redis');
      await store.ping();
    } finally {
      await store.close();
    }
  });
});
