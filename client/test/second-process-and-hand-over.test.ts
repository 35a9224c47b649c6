// A second process of one agent and the live inbox's hand-over: a process that only sends signs
// with the key its identity file holds since another process rotated it; a forward-secret message
// whose pre-hand-over commit fails comes again; a for-await loop that breaks at a message still
// owes the receipt it asked for.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import type { InboxEntry } from '../src/inbox-entry.js';
import { loadIdentity } from '../src/keystore.js';
import { bodyOrError, registeredAgent, waitFor, type AgentOptions } from './test-agents.js';

let relay: SpawnedRelay;
let scratch: string;

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    spawnRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-second-process-')),
  ]);
});
afterAll(async () => {
  await relay.stop();
  await rm(scratch, { recursive: true, force: true });
});

function newAgent(prefix: string, options: AgentOptions = {}): Promise<DeadDropClient> {
  return registeredAgent(scratch, relay.url, prefix, options);
}

describe('a second process and the hand-over', () => {
  // `send` is checked by no proof, so nothing refuses a retired key: the sender itself looks at its
  // identity file (one stat) before sealing.
  it('a process that only sends, after another process rotated, signs with the new key', async () => {
    const [alice, carol] = await Promise.all([newAgent('alice'), newAgent('carol')]);
    const mcpServer = new DeadDropClient({
      identity: await loadIdentity(alice.agentId, { home: alice.identity.home }),
    });
    try {
      const { newKey } = await alice.rotateKey(); // `deaddrop key rotate` in another process
      await mcpServer.sendMessage({ to: carol.agentId, message: { n: 1 } });
      const [entry] = await carol.pollAndDecrypt();
      expect(entry).toMatchObject({ body: { n: 1 }, verified: true, fromKey: newKey });
    } finally {
      for (const client of [alice, carol, mcpServer]) client.close();
    }
  }, 30_000);

  // A forward-secret entry is recorded as seen before its hand-over; when that fails (a damaged
  // state file, a full disk) it was neither recorded nor handed over, and must come again.
  it('a forward-secret message whose commit failed is not lost', async () => {
    const [alice, bob] = await Promise.all([newAgent('alice'), newAgent('bob')]);
    const statePath = join(bob.identity.home, 'agents', `${bob.agentId}.state.json`);
    const entries: InboxEntry[] = [];
    let failure: unknown;
    const subscription = bob.subscribe({
      onMessage: (entry) => {
        entries.push(entry);
      },
      onError: (error) => {
        failure = error;
      },
    });
    try {
      await alice.sendMessage({ to: bob.agentId, message: { n: 1 } });
      await waitFor(() => entries.length >= 1, 'the first message');
      await new Promise((resolve) => setTimeout(resolve, 300)); // the batch's commit
      const goodState = await readFile(statePath, 'utf8');
      await writeFile(statePath, 'not json'); // the next commit fails
      const sent = await alice.sendMessage({ to: bob.agentId, message: { n: 2 } });
      expect(sent.forwardSecret).toBe(true);
      await subscription.closed;
      expect(failure).toBeDefined();
      expect(entries).toHaveLength(1);
      await writeFile(statePath, goodState); // repaired
      const polled = await bob.pollAndDecrypt();
      expect(polled.map(bodyOrError)).toContainEqual({ n: 2 });
    } finally {
      subscription.unsubscribe();
      await subscription.closed;
      for (const client of [alice, bob]) client.close();
    }
  }, 30_000);

  // A `break` at a message hands it over: the receipt it asked for is owed and sent.
  it('a for-await loop that breaks at a message still sends the receipt it asked for', async () => {
    const [alice, bob] = await Promise.all([newAgent('alice'), newAgent('bob')]);
    try {
      const asked = await alice.sendMessage({ to: bob.agentId, message: 'ack?', receipt: true });
      const got: InboxEntry[] = [];
      for await (const entry of bob.inbox()) {
        got.push(entry);
        break;
      }
      expect(got.map(bodyOrError)).toEqual(['ack?']);
      await bob.flushReceipts();
      await alice.pollAndDecrypt();
      const delivery = (await alice.deliveries()).find((record) => record.uid === asked.uid);
      expect(delivery?.deliveredAt).toBeDefined();
    } finally {
      for (const client of [alice, bob]) client.close();
    }
  }, 30_000);
});
