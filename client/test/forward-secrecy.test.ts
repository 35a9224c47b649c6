// Forward secrecy on the receiving side (PROTOCOL §10): a v2 envelope opens with the one-time
// prekey secret it names, that secret is gone from disk before pollAndDecrypt hands it over, and
// nothing left in the agent's home — seed, identity, state, prekeys — opens the recorded
// ciphertext again. A second copy, or an envelope naming a prekey the agent never had, is a typed
// entry; the messages around it are delivered.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveAgentKeys,
  fromB64u,
  generatePrekey,
  openMessage,
  openMessageV2,
  randomBytes,
  sealMessageV2,
  toB64u,
} from '@deaddrop/contract';
import { RATE_LIMITS_OFF, spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { createIdentity } from '../src/keystore.js';
import { PrekeySecrets } from '../src/prekey-secrets.js';
import { PREKEY_BATCH, PREKEY_LOW_WATER } from '../src/prekey-supply.js';
import { createRelayTransport } from '../src/transport.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const run = toB64u(randomBytes(6))
  .toLowerCase()
  .replace(/[^a-z0-9]/g, 'x');

const stores: { store: string; env: Record<string, string> }[] = [
  { store: 'embedded', env: {} },
  { store: 'redis', env: { REDIS_URL } },
];

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not met within 5 s');
}

/** Every base64url run in a text that decodes to 32 bytes: each a candidate secret key or seed. */
function thirtyTwoByteValues(text: string): Uint8Array[] {
  return [...text.matchAll(/[A-Za-z0-9_-]{43}/g)]
    .map(([match]) => fromB64u(match))
    .filter((bytes): bytes is Uint8Array => bytes?.length === 32);
}

describe.each(stores)('forward secrecy, receiving ($store store)', ({ store, env }) => {
  let relay: SpawnedRelay;
  let scratch: string;
  let alice: DeadDropClient;
  let bob: DeadDropClient;
  let bobHome: string;

  async function open(name: string): Promise<DeadDropClient> {
    const agentId = `${name}-fs${store.slice(0, 1)}-${run}`;
    const identity = await createIdentity(agentId, {
      home: join(scratch, agentId),
      relayUrl: relay.url,
    });
    const client = new DeadDropClient({ identity, receipts: name !== 'alice' && name !== 'bob' });
    await client.register();
    return client;
  }

  beforeAll(async () => {
    [relay, scratch] = await Promise.all([
      spawnRelay({ ...RATE_LIMITS_OFF, ...env }),
      mkdtemp(join(tmpdir(), `deaddrop-fs-${store}-`)),
    ]);
    [alice, bob] = [await open('alice'), await open('bob')];
    bobHome = bob.identity.home;
  });

  afterAll(async () => {
    alice.close();
    bob.close();
    await relay.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  /** A v2 envelope from alice to bob's prekey, stored on the relay as any sender would. */
  async function sendV2(prekey: { id: string; key: string }, body: string): Promise<string> {
    const sealed = sealMessageV2({
      from: alice.agentId,
      sender: alice.identity.keys,
      to: bob.agentId,
      prekey,
      body,
    });
    const transport = createRelayTransport({
      relayUrl: relay.url,
      relayId: () => Promise.reject(new Error('send needs no proof')),
    });
    await transport.send.mutate({ to: bob.agentId, ciphertext: sealed.ciphertext });
    return sealed.ciphertext;
  }

  it('opens a v2 message, deletes its prekey secret first, and nothing left opens it again', async () => {
    const secrets = new PrekeySecrets(bobHome, bob.agentId);
    const [used, spare] = [
      generatePrekey(bob.agentId, bob.identity.keys),
      generatePrekey(bob.agentId, bob.identity.keys),
    ];
    await secrets.add(
      [used, spare].map(({ prekey, secretKey }) => ({
        id: prekey.id,
        key: prekey.key,
        secretKey: toB64u(secretKey),
        createdAt: Date.now(),
      })),
    );
    const recorded = await sendV2(used.prekey, 'forward secret hello');

    const [entry] = await bob.pollAndDecrypt();
    expect(entry).toMatchObject({
      from: alice.agentId,
      body: 'forward secret hello',
      verified: true,
      forwardSecret: true,
    });
    // Gone before the entry was handed over; the unused one stays.
    const kept = (await secrets.list()).map(({ id }) => id);
    expect(kept).not.toContain(used.prekey.id);
    expect(kept).toContain(spare.prekey.id);

    // Everything bob's home still holds, tried as every key it could be.
    const files = await readdir(join(bobHome, 'agents'));
    const texts = await Promise.all(
      files.map((name) => readFile(join(bobHome, 'agents', name), 'utf8')),
    );
    const candidates = texts.flatMap(thirtyTwoByteValues);
    expect(candidates.length).toBeGreaterThan(0);
    for (const candidate of candidates) {
      expect(
        openMessageV2(recorded, bob.agentId, { id: used.prekey.id, secretKey: candidate }).ok,
      ).toBe(false);
      // As an identity seed (PROTOCOL §1): v1 opening refuses a v2 envelope outright, and the
      // seed's box secret opens no prekey's box either.
      expect(openMessage(recorded, bob.agentId, deriveAgentKeys(candidate)).ok).toBe(false);
      const boxSecret = createHash('sha512')
        .update('deaddrop/box/v1')
        .update(candidate)
        .digest()
        .subarray(0, 32);
      expect(
        openMessageV2(recorded, bob.agentId, { id: used.prekey.id, secretKey: boxSecret }).ok,
      ).toBe(false);
    }
  });

  it('a live inbox deletes the secret before it hands the message over', async () => {
    const secrets = new PrekeySecrets(bobHome, bob.agentId);
    const live = generatePrekey(bob.agentId, bob.identity.keys);
    await secrets.add([
      {
        id: live.prekey.id,
        key: live.prekey.key,
        secretKey: toB64u(live.secretKey),
        createdAt: Date.now(),
      },
    ]);
    await sendV2(live.prekey, 'live and forward secret');
    const controller = new AbortController();
    for await (const entry of bob.inbox({ signal: controller.signal })) {
      expect(entry).toMatchObject({ body: 'live and forward secret', forwardSecret: true });
      expect((await secrets.list()).map(({ id }) => id)).not.toContain(live.prekey.id);
      controller.abort();
      break;
    }
    // Recorded as seen before the hand-over: the next read starts after it.
    expect(await bob.pollAndDecrypt()).toEqual([]);
  });

  it('reads a second copy (replayed), and a prekey it never had, as typed entries between good messages', async () => {
    const prekey = generatePrekey(bob.agentId, bob.identity.keys);
    await new PrekeySecrets(bobHome, bob.agentId).add([
      {
        id: prekey.prekey.id,
        key: prekey.prekey.key,
        secretKey: toB64u(prekey.secretKey),
        createdAt: Date.now(),
      },
    ]);
    const never = generatePrekey(bob.agentId, bob.identity.keys);
    await alice.sendMessage({ to: bob.agentId, message: 'before' });
    const copy = await sendV2(prekey.prekey, 'once');
    const transport = createRelayTransport({
      relayUrl: relay.url,
      relayId: () => Promise.reject(new Error('send needs no proof')),
    });
    await transport.send.mutate({ to: bob.agentId, ciphertext: copy });
    await sendV2(never.prekey, 'to a prekey bob never had');
    await alice.sendMessage({ to: bob.agentId, message: 'after' });

    const entries = await bob.pollAndDecrypt();
    expect(entries).toEqual([
      expect.objectContaining({ body: 'before', forwardSecret: true, verified: true }),
      expect.objectContaining({ body: 'once', forwardSecret: true, verified: true }),
      expect.objectContaining({ error: 'replayed' }),
      expect.objectContaining({ error: 'prekey-unknown' }),
      expect.objectContaining({ body: 'after', forwardSecret: true, verified: true }),
    ]);
  });

  it('sends forward secret through the SDK: one prekey per message, v1 when none is left, topped up by reading', async () => {
    const carol = await open('carol');
    const dave = await open('dave');
    // Registration published a batch for each.
    expect((await dave.stats()).prekeys).toBe(PREKEY_BATCH);
    const first = await carol.sendMessage({ to: dave.agentId, message: 'fs 1' });
    expect(first).toMatchObject({ forwardSecret: true });
    expect((await dave.stats()).prekeys).toBe(PREKEY_BATCH - 1);
    // A receipt-asking send still takes one prekey; the receipt back takes none of carol's.
    const asked = await carol.sendMessage({ to: dave.agentId, message: 'fs 2', receipt: true });
    expect(asked.forwardSecret).toBe(true);
    expect((await dave.stats()).prekeys).toBe(PREKEY_BATCH - 2);
    const carolHeld = (await carol.stats()).prekeys;

    // Drain dave's prekeys as any sender could: then sends fall back to v1, and still arrive.
    const claimer = createRelayTransport({
      relayUrl: relay.url,
      relayId: () => Promise.reject(new Error('no proof needed')),
    });
    for (let left = PREKEY_BATCH - 2; left > 0; left--)
      await claimer.directory.claimPrekey.mutate({ agentId: dave.agentId });
    const fallback = await carol.sendMessage({ to: dave.agentId, message: 'v1 fallback' });
    expect(fallback.forwardSecret).toBe(false);

    const read = await dave.pollAndDecrypt();
    expect(read).toEqual([
      expect.objectContaining({ body: 'fs 1', forwardSecret: true, verified: true }),
      expect.objectContaining({ body: 'fs 2', forwardSecret: true, verified: true }),
      expect.objectContaining({ body: 'v1 fallback', forwardSecret: false, verified: true }),
    ]);
    await dave.flushReceipts();
    expect((await carol.stats()).prekeys).toBe(carolHeld);
    // Reading forward-secret mail with the relay's stock under the low-water mark tops it up.
    await until(async () => ((await dave.stats()).prekeys ?? 0) >= PREKEY_LOW_WATER);
    expect((await dave.stats()).prekeys).toBe(PREKEY_BATCH);
    carol.close();
    dave.close();
  });

  it('sends 16 at once, each with its own prekey, and warns of no listener leak', async () => {
    const [erin, frank] = [await open('erin'), await open('frank')];
    const warnings: string[] = [];
    const listener = (warning: Error): void => {
      warnings.push(`${warning.name}: ${warning.message}`);
    };
    process.on('warning', listener);
    try {
      const sent = await Promise.all(
        Array.from({ length: 16 }, (_, n) => erin.sendMessage({ to: frank.agentId, message: n })),
      );
      expect(sent.every((message) => message.forwardSecret)).toBe(true);
      expect((await frank.stats()).prekeys).toBe(PREKEY_BATCH - 16);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
      erin.close();
      frank.close();
    }
    expect(warnings.filter((warning) => warning.startsWith('MaxListenersExceeded'))).toEqual([]);
  });
});
