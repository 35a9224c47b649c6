// End to end: sendMessage retried against a real relay process on a redis-server of the test's own —
// across a Redis outage (503s until it is back), and when the relay stored a message but its
// answer was lost on the way — with the same idempotency key, so the message is stored once.
// @module-tag slow (kills its redis-server): npm test only, not npm run test:fast
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadDropClient } from '../src/client.js';
import { createIdentity } from '../src/keystore.js';
import { startRedisServer, type RedisServerProcess } from '@deaddrop/test-support/redis-server';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { startTcpProxy, type TcpProxy } from '@deaddrop/test-support/tcp-proxy';

const OUTAGE_MS = 1_500;

/** The status of every answer the client got, by procedure path (`send`, `directory.lookup`). */
function recordingFetch(statuses: Map<string, number[]>): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : input);
    const path = url.pathname.replace(/^\/trpc\//, '');
    statuses.set(path, [...(statuses.get(path) ?? []), response.status]);
    return response;
  };
}

let redis: RedisServerProcess;
let relay: SpawnedRelay;
let proxy: TcpProxy;
let scratch: string;
let bob: DeadDropClient;

async function newIdentity(agentId: string) {
  return createIdentity(agentId, { home: join(scratch, agentId), relayUrl: relay.url });
}

/** Every message stored in bob's mailbox, oldest first. */
async function bobsMailbox(): Promise<string[]> {
  const { messages } = await bob.poll({ limit: 100 });
  return messages.map((message) => message.id);
}

beforeAll(async () => {
  redis = await startRedisServer();
  [relay, scratch] = await Promise.all([
    spawnRelay({ REDIS_URL: redis.url }),
    mkdtemp(join(tmpdir(), 'deaddrop-send-retry-')),
  ]);
  proxy = await startTcpProxy(relay.url);
  bob = new DeadDropClient({ identity: await newIdentity('bob') });
  await bob.register();
}, 60_000);

afterAll(async () => {
  await proxy.close();
  await relay.stop();
  await redis.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('sendMessage retries', () => {
  it('rides out a Redis outage and stores each message once', { timeout: 60_000 }, async () => {
    const statuses = new Map<string, number[]>();
    const alice = new DeadDropClient({
      identity: await newIdentity('alice'),
      fetch: recordingFetch(statuses),
    });
    await alice.register();
    const before = await alice.sendMessage({ to: 'bob', message: 'before the outage' });
    statuses.clear();

    await redis.kill('SIGKILL');
    // One looks bob up first (the relay answers that from its directory cache), one has his key.
    const sends = Promise.all([
      alice.sendMessage({ to: 'bob', message: 'looked up during the outage' }),
      alice.sendMessage({
        to: 'bob',
        message: 'sent during the outage',
        recipientKey: bob.agentKey,
      }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    await redis.restart();
    const [lookedUp, sent] = await sends;

    // Refused with 503 while Redis was away (the lookup and the prekey claim that go before the
    // send meet the outage first; a refused claim falls back to v1), then answered.
    const refused = [...statuses.values()].flat().filter((status) => status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(statuses.get('send')?.at(-1)).toBe(200);
    expect((await bobsMailbox()).sort()).toEqual([before.id, lookedUp.id, sent.id].sort());
    expect([lookedUp.duplicate, sent.duplicate]).toEqual([false, false]);

    const bodies = (await bob.pollAndDecrypt({ limit: 100 })).map((entry) =>
      'body' in entry ? entry.body : entry.error,
    );
    expect(bodies.sort()).toEqual(
      ['before the outage', 'looked up during the outage', 'sent during the outage'].sort(),
    );
    await bob.deleteMessages(await bobsMailbox());
  });

  it(
    'sends again when the answer was lost after the relay stored the message, storing it once',
    { timeout: 30_000 },
    async () => {
      const identity = await newIdentity('carol');
      await new DeadDropClient({ identity }).register();
      const carol = new DeadDropClient({ identity, relayUrl: proxy.url });
      await carol.pin('bob', bob.agentKey);

      const earlier = await bobsMailbox();
      proxy.loseNextAnswer('POST /trpc/send');
      const sent = await carol.sendMessage({ to: 'bob', message: 'answer lost' });
      expect(proxy.lost()).toBe(1);
      // The retry met the stored message: same id, marked as a duplicate, stored once.
      expect(sent.duplicate).toBe(true);
      expect(await bobsMailbox()).toEqual([...earlier, sent.id]);
      const entries = await bob.pollAndDecrypt({ limit: 100 });
      expect(entries.find((entry) => entry.id === sent.id)).toMatchObject({
        from: 'carol',
        verified: true,
        body: 'answer lost',
      });
    },
  );
});
