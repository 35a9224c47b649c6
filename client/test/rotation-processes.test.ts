// Key rotation with other processes of the same agent (the CLI beside an MCP server, two CLI runs):
// they share the identity file (PROTOCOL §1), which a rotation changes under its lock, and each
// catches up with the file when it finds its keys out of date (PROTOCOL §10). From the review of
// issue 15: each test failed on the code before the identity file had a lock.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveAgentKeys, fromB64u, generateSeed, signRotation } from '@deaddrop/contract';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import type { DeadDropClient } from '../src/client.js';
import { isUnreadable, type InboxEntry } from '../src/inbox-entry.js';
import { loadIdentity, savePendingSeed } from '../src/keystore.js';
import { runCliProcess } from './cli-process.js';
import { rawRelayClient } from './raw-relay.js';
import {
  bodyOrError,
  registeredAgent,
  sameAgentElsewhere,
  waitFor,
  type AgentOptions,
} from './test-agents.js';

let relay: SpawnedRelay;
let scratch: string;

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    spawnRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-rotation-processes-')),
  ]);
});
afterAll(async () => {
  await relay.stop();
  await rm(scratch, { recursive: true, force: true });
});

function newAgent(prefix: string, options: AgentOptions = {}): Promise<DeadDropClient> {
  return registeredAgent(scratch, relay.url, prefix, options);
}

function urlOf(input: Parameters<typeof fetch>[0]): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

/** Every agent key the identity file can still sign or open with. */
async function keysOnDisk(client: DeadDropClient): Promise<string[]> {
  const file = JSON.parse(
    await readFile(join(client.identity.home, 'agents', `${client.agentId}.json`), 'utf8'),
  ) as { seed: string; pendingSeed?: string; previousSeeds?: { seed: string }[] };
  const seeds = [file.seed, file.pendingSeed, ...(file.previousSeeds ?? []).map((p) => p.seed)];
  return seeds.flatMap((seed) => {
    const bytes = seed === undefined ? null : fromB64u(seed);
    return bytes === null ? [] : [deriveAgentKeys(bytes).agentKey];
  });
}

describe('key rotation beside other processes of the agent', () => {
  // PROTOCOL §1/§10: the pending seed is written before the relay is asked "so a crash ... loses
  // no seed". Two rotations at once (two CLI runs, or the CLI and an MCP server): without a lock
  // the second found the first's pendingSeed, saw the relay still on the old key, dropped it and
  // wrote its own; the first's relay call then succeeded and promoted the second's seed. The relay
  // held a key no seed on disk derives: the identity was lost. Now the second waits for the first.
  it('two rotateKey() runs at once: the second waits, and every key stays on disk', async () => {
    let releaseA!: () => void;
    let aAtRelay!: () => void;
    const aReached = new Promise<void>((resolve) => (aAtRelay = resolve));
    const aGate = new Promise<void>((resolve) => (releaseA = resolve));
    let bAtRelay = false;
    const gated =
      (reached: () => void, gate: Promise<void>): typeof fetch =>
      async (input, init) => {
        if (urlOf(input).includes('directory.rotate')) {
          reached();
          await gate;
        }
        return fetch(input, init);
      };

    const bob = await newAgent('bob');
    const oldKey = bob.agentKey;
    const processA = await sameAgentElsewhere(bob, { fetch: gated(aAtRelay, aGate) });
    const processB = await sameAgentElsewhere(bob, {
      fetch: gated(() => (bAtRelay = true), Promise.resolve()),
    });
    try {
      const rotatedA = processA.rotateKey();
      await aReached; // A wrote its pendingSeed and is asking the relay
      const rotatedB = processB.rotateKey();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(bAtRelay).toBe(false); // B waits for A's lock on the identity file
      releaseA();
      const [a, b] = await Promise.all([rotatedA, rotatedB]);
      expect(a.oldKey).toBe(oldKey);
      expect(b.oldKey).toBe(a.newKey); // B rotated from the key A left, read from the file

      const relayKey = (await bob.lookup(bob.agentId)).agentKey;
      expect(relayKey).toBe(b.newKey);
      expect(await keysOnDisk(bob)).toEqual([b.newKey, oldKey, a.newKey]);
    } finally {
      for (const client of [bob, processA, processB]) client.close();
    }
  }, 30_000);

  // The same with a real second process: `deaddrop key rotate` while this process rotates. The
  // lock file (`agents/<id>.json.lock`), not this process's queue, makes it wait.
  it('deaddrop key rotate in another process waits for a rotation under way', async () => {
    let releaseA!: () => void;
    let aAtRelay!: () => void;
    const aReached = new Promise<void>((resolve) => (aAtRelay = resolve));
    const aGate = new Promise<void>((resolve) => (releaseA = resolve));
    const bob = await newAgent('bob');
    const oldKey = bob.agentKey;
    const processA = await sameAgentElsewhere(bob, {
      fetch: async (input, init) => {
        if (urlOf(input).includes('directory.rotate')) {
          aAtRelay();
          await aGate;
        }
        return fetch(input, init);
      },
    });
    try {
      const rotatedA = processA.rotateKey();
      await aReached;
      let cliDone = false;
      const cli = runCliProcess(['key', 'rotate', bob.agentId], {
        DEADDROP_HOME: bob.identity.home,
      }).finally(() => (cliDone = true));
      // Long enough for the CLI to start and reach the lock (tsx compiles it first).
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(cliDone).toBe(false);
      expect((await bob.lookup(bob.agentId)).agentKey).toBe(oldKey);
      releaseA();
      const a = await rotatedA;
      const run = await cli;
      expect(run.code, run.stderr).toBe(0);
      const after = await loadIdentity(bob.agentId, { home: bob.identity.home });
      expect(run.stdout).toContain(`new agent key: ${after.agentKey}`);
      expect((await bob.lookup(bob.agentId)).agentKey).toBe(after.agentKey);
      expect(await keysOnDisk(bob)).toEqual([after.agentKey, oldKey, a.newKey]);
    } finally {
      bob.close();
      processA.close();
    }
  }, 40_000);

  // PROTOCOL §1: the CLI and an MCP server of one agent share the state file. After one process
  // rotates, the other keeps its in-memory identity: its open live inbox (an SSE stream survives
  // the rotation) reads v1 mail sealed to the new key as `decrypt-failed` and commits the shared
  // cursor past it, so the process that holds the new key never sees the message.
  it("another process's live inbox does not skip v1 mail sealed to the rotated key", async () => {
    const [alice, bob] = await Promise.all([newAgent('alice'), newAgent('bob')]);
    const mcpServer = await sameAgentElsewhere(bob);
    const entries: InboxEntry[] = [];
    const subscription = mcpServer.subscribe({
      transport: 'sse',
      onMessage: (entry) => {
        entries.push(entry);
      },
    });
    try {
      await alice.sendMessage({ to: bob.agentId, message: { n: 1 } });
      await waitFor(() => entries.length >= 1, 'the first message');

      const { newKey } = await bob.rotateKey(); // `deaddrop key rotate` in another process
      // A v1 message to the new key (here forced by an accepted explicit key; receipts and
      // fallbacks when prekeys run out are v1 too).
      await alice.sendMessage({
        to: bob.agentId,
        message: { n: 2 },
        recipientKey: newKey,
        acceptKey: true,
      });
      await waitFor(() => entries.length >= 2, 'the second entry in the other process');
      await new Promise((resolve) => setTimeout(resolve, 300)); // its commit
      const polled = await bob.pollAndDecrypt();
      const seen = [...entries, ...polled].filter((entry) => !isUnreadable(entry));
      expect(seen.map(bodyOrError)).toContainEqual({ n: 2 });
    } finally {
      subscription.unsubscribe();
      await subscription.closed;
      for (const client of [alice, bob, mcpServer]) client.close();
    }
  }, 40_000);

  // client.ts rotateKey: "A process that dies in between keeps both seeds on disk ... the next
  // `rotateKey` ... finishes the rotation the relay made". Only rotateKey used to read
  // `pendingSeed`: every other run of the identity signed its proofs with the retired `seed`, so
  // each mailbox call failed (AUTH_BAD_SIGNATURE) and `deaddrop register` said the id was "taken by
  // another key ... create one with another id". Now the refusal finishes the rotation.
  it('after a crash between the relay and the file, the identity still reaches its mailbox', async () => {
    const erin = await crashedMidRotation(await newAgent('erin'));
    const next = await sameAgentElsewhere(erin.client);
    try {
      await expect(next.stats()).resolves.toMatchObject({ agentId: erin.agentId });
      expect(next.agentKey).toBe(erin.pendingKey);
      const onDisk = await loadIdentity(erin.agentId, { home: next.identity.home });
      expect(onDisk.agentKey).toBe(erin.pendingKey);
      expect(onDisk.pendingKeys).toBeUndefined();
      expect(await keysOnDisk(next)).toEqual([erin.pendingKey, erin.oldKey]);
    } finally {
      next.close();
    }
  }, 20_000);

  it('after such a crash, deaddrop register finishes the rotation instead of calling the id taken', async () => {
    const erin = await crashedMidRotation(await newAgent('erin'));
    const run = await runCliProcess(['register', erin.agentId], {
      DEADDROP_HOME: erin.client.identity.home,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${erin.agentId} is already registered`);
    expect(run.stderr).toContain('finished the key rotation');
    const onDisk = await loadIdentity(erin.agentId, { home: erin.client.identity.home });
    expect(onDisk.agentKey).toBe(erin.pendingKey);
    expect(onDisk.pendingKeys).toBeUndefined();
  }, 40_000);

  // Another process rotated and finished the file: this one, loaded before, signs with the old key
  // until the relay refuses it; then it reads the file and retries with the new key.
  it('a process still on the old key after another one rotated takes the new key from the file', async () => {
    const bob = await newAgent('bob');
    const other = await sameAgentElsewhere(bob);
    try {
      const { newKey } = await bob.rotateKey();
      await expect(other.stats()).resolves.toMatchObject({ agentId: bob.agentId });
      expect(other.agentKey).toBe(newKey);
    } finally {
      bob.close();
      other.close();
    }
  }, 20_000);
});

/**
 * The state a run leaves that died after the relay rotated and before the file was finished: the
 * new seed in `pendingSeed`, the relay on its key. The client is closed (that run is gone).
 */
async function crashedMidRotation(client: DeadDropClient) {
  const seed = generateSeed();
  const pendingKeys = deriveAgentKeys(seed);
  await savePendingSeed(client.identity, seed);
  const step = signRotation({
    relayId: (await client.info()).relayId,
    agentId: client.agentId,
    oldKeys: client.identity.keys,
    newKeys: pendingKeys,
  });
  await rawRelayClient(relay.url).directory.rotate.mutate({
    agentId: client.agentId,
    newKey: step.newKey,
    ts: step.ts,
    sigOld: step.sigOld,
    sigNew: step.sigNew,
  });
  client.close();
  return {
    client,
    agentId: client.agentId,
    oldKey: client.agentKey,
    pendingKey: pendingKeys.agentKey,
  };
}
