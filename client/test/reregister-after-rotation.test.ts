// Re-registration after the relay lost its store (PROTOCOL §10) registers the key the identity file
// holds, not one this process loaded before another process of the agent rotated it.
// @module-tag slow (restarts its redis-server): npm test only, not npm run test:fast
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisServer, type RedisServerProcess } from '@deaddrop/test-support/redis-server';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { isDeadDropError } from '../src/errors.js';
import { createIdentity, loadIdentity } from '../src/keystore.js';

let redis: RedisServerProcess;
let relay: SpawnedRelay;
let scratch: string;

beforeAll(async () => {
  redis = await startRedisServer({ persistence: false });
  [relay, scratch] = await Promise.all([
    spawnRelay({ REDIS_URL: redis.url }),
    mkdtemp(join(tmpdir(), 'deaddrop-reregister-after-rotation-')),
  ]);
}, 60_000);
afterAll(async () => {
  await relay.stop();
  await redis.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** Restarts Redis empty, and waits until the relay answers from the new one. */
async function loseTheStore(client: DeadDropClient): Promise<void> {
  await redis.restart();
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await client.lookup(client.agentId);
    } catch (error) {
      if (isDeadDropError(error, 'AGENT_NOT_FOUND')) return;
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Without the file, the stale process would register the retired key once the id is free again:
// the process holding the current seed would then be refused, and senders would seal to the old key.
it('a process still on the retired key re-registers the key the identity file holds', async () => {
  const identity = await createIdentity('bob', { home: join(scratch, 'bob'), relayUrl: relay.url });
  const bob = new DeadDropClient({ identity });
  await bob.register();
  const mcpServer = new DeadDropClient({
    identity: await loadIdentity(bob.agentId, { home: bob.identity.home }),
  });
  try {
    const { newKey } = await bob.rotateKey(); // `deaddrop key rotate` in another process
    await loseTheStore(bob);
    await mcpServer.stats(); // refused AGENT_NOT_REGISTERED: registers again, retries
    expect((await bob.lookup(bob.agentId)).agentKey).toBe(newKey);
    await expect(bob.stats()).resolves.toMatchObject({ agentId: bob.agentId });
  } finally {
    bob.close();
    mcpServer.close();
  }
}, 60_000);
