// Two relay processes on one Redis: a message sent through one reaches a live subscriber held by
// the other (the notification crosses processes by Redis pub/sub; the stream is the truth).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealMessage } from '@deaddrop/contract';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { eventually, subscribeInbox, type Transport } from './support/live-clients.js';
import {
  REDIS_URL,
  makeAgent,
  rawClient,
  register,
  startTestRelay,
  type TestRelay,
} from './support/relay-harness.js';

describe('two relay processes on one Redis', () => {
  let a: TestRelay;
  let b: SpawnedRelay;
  beforeAll(async () => {
    a = await startTestRelay('redis');
    b = await spawnRelay({ REDIS_URL, REDIS_KEY_PREFIX: a.keyPrefix });
  });
  afterAll(async () => {
    await b.stop();
    await a.stop();
  });

  it('share one relay id', async () => {
    expect((await rawClient(b.url).info.query()).relayId).toBe(a.relayId);
  });

  it.each<Transport>(['sse', 'ws'])(
    'deliver a message sent to A to a %s subscriber on B',
    async (transport) => {
      const bob = makeAgent(`bob-${transport}`);
      const alice = makeAgent('alice');
      await register(a.url, a.relayId, bob);
      const live = subscribeInbox(transport, b.url, a.relayId, bob);
      try {
        // Let B's subscription reach its live phase before sending through A.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const { ciphertext } = sealMessage({
            from: 'alice',
            sender: alice.keys,
            to: bob.agentId,
            recipient: bob.keys,
            body: i,
          });
          ids.push((await rawClient(a.url).send.mutate({ to: bob.agentId, ciphertext })).id);
        }
        await eventually(
          () => live.received.length === 3,
          10_000,
          'delivery through the other relay',
        );
        expect(live.received.map((r) => r.id)).toEqual(ids);
      } finally {
        await live.close();
      }
    },
  );
});
