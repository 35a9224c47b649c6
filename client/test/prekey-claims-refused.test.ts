// PROTOCOL §10: the SDK claims a prekey only for a message it seals — a claimed prekey is gone
// for every sender. A send refused before any request (strict mode, no pin) claims none.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { isDeadDropError } from '../src/errors.js';
import { createIdentity } from '../src/keystore.js';

let relay: SpawnedRelay;
let scratch: string;

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    spawnRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-prekey-claims-refused-')),
  ]);
});
afterAll(async () => {
  await relay.stop();
  await rm(scratch, { recursive: true, force: true });
});

it('a send refused before sealing (strict mode, no pin) claims none of the recipient’s prekeys', async () => {
  const open = async (agentId: string, strict = false) => {
    const identity = await createIdentity(agentId, {
      home: join(scratch, agentId),
      relayUrl: relay.url,
    });
    const client = new DeadDropClient({ identity, requireExplicitKeys: strict });
    await client.register();
    return client;
  };
  const bob = await open('bob');
  const alice = await open('alice', true);
  try {
    const before = (await bob.stats()).prekeys;
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(alice.sendMessage({ to: bob.agentId, message: 'hi' })).rejects.toSatisfy(
        (error) => isDeadDropError(error, 'NOT_PINNED'),
      );
    }
    expect((await bob.stats()).prekeys).toBe(before);
  } finally {
    alice.close();
    bob.close();
  }
});
