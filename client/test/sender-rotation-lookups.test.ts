// A message whose fromKey differs from the sender's pin makes the recipient ask the directory
// whether the sender rotated (PROTOCOL §10). Anyone can send such mail naming a pinned sender,
// signed by a key of their own: it costs at most one directory lookup per sender per batch.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deriveAgentKeys, generateSeed, sealMessage } from '@deaddrop/contract';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { isUnreadable } from '../src/inbox-entry.js';
import { createIdentity } from '../src/keystore.js';
import { createRelayTransport } from '../src/transport.js';

let relay: SpawnedRelay;
let scratch: string;

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    spawnRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-sender-rotation-lookups-')),
  ]);
});
afterAll(async () => {
  await relay.stop();
  await rm(scratch, { recursive: true, force: true });
});

it('forged messages naming a pinned sender cost at most one directory lookup per poll', async () => {
  let lookups = 0;
  const counting: typeof fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    lookups += url.split('directory.lookup').length - 1;
    return fetch(input, init);
  };
  const open = async (agentId: string, options: { fetch?: typeof fetch } = {}) => {
    const identity = await createIdentity(agentId, {
      home: join(scratch, agentId),
      relayUrl: relay.url,
    });
    const client = new DeadDropClient({ identity, receipts: false, ...options });
    await client.register();
    return client;
  };
  const alice = await open('alice');
  const bob = await open('bob', { fetch: counting });
  try {
    await alice.sendMessage({ to: bob.agentId, message: 'real' });
    await bob.pollAndDecrypt(); // alice is pinned now

    const mallory = deriveAgentKeys(generateSeed());
    const transport = createRelayTransport({
      relayUrl: relay.url,
      relayId: () => Promise.reject(new Error('send needs no proof')),
    });
    for (let n = 0; n < 20; n++) {
      const forged = sealMessage({
        from: alice.agentId,
        sender: mallory,
        to: bob.agentId,
        recipient: bob.identity.keys,
        body: { n },
      });
      await transport.send.mutate({ to: bob.agentId, ciphertext: forged.ciphertext });
    }
    lookups = 0;
    const entries = await bob.pollAndDecrypt({ limit: 100 });
    expect(entries).toHaveLength(20);
    expect(entries.every((entry) => !isUnreadable(entry) && entry.reason === 'key-mismatch')).toBe(
      true,
    );
    expect(lookups).toBeLessThanOrEqual(1);
  } finally {
    alice.close();
    bob.close();
  }
});
