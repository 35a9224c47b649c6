// Key rotation while the keys are in use (PROTOCOL §10): a live inbox open during rotateKey()
// reconnects with the new key; a sender that passes the same explicit key every time follows the
// recipient's rotation instead of refusing the prekeys the new key signed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import type { DeadDropClient } from '../src/client.js';
import type { InboxEntry } from '../src/inbox-entry.js';
import { bodyOrError, registeredAgent, waitFor, type AgentOptions } from './test-agents.js';

let relay: SpawnedRelay;
let scratch: string;

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    // A short WebSocket max age makes the live inbox reconnect (with a fresh proof) every 2 s.
    spawnRelay({ WS_MAX_AGE_SECONDS: '2' }),
    mkdtemp(join(tmpdir(), 'deaddrop-rotation-in-use-')),
  ]);
});
afterAll(async () => {
  await relay.stop();
  await rm(scratch, { recursive: true, force: true });
});

function newAgent(prefix: string, options: AgentOptions = {}): Promise<DeadDropClient> {
  return registeredAgent(scratch, relay.url, prefix, options);
}

describe('key rotation while in use', () => {
  // Each reconnect signs a fresh proof: with the key the identity holds then, not the one the
  // inbox was opened with (the relay no longer accepts that one).
  it('a live inbox open during rotateKey() keeps working after it reconnects', async () => {
    const [alice, bob] = await Promise.all([newAgent('alice'), newAgent('bob')]);
    const entries: InboxEntry[] = [];
    const errors: unknown[] = [];
    let connected = 0;
    const subscription = bob.subscribe({
      transport: 'ws',
      onMessage: (entry) => {
        entries.push(entry);
      },
      onConnection: (event) => {
        if (event.state === 'connected') connected += 1;
      },
      onError: (error) => errors.push(error),
    });
    try {
      await alice.sendMessage({ to: bob.agentId, message: { n: 1 } });
      await waitFor(() => entries.length >= 1 || errors.length > 0, 'the first message');
      await bob.rotateKey();
      const before = connected;
      // Past WS_MAX_AGE_SECONDS the relay closes the socket; the inbox reconnects.
      await waitFor(() => connected > before || errors.length > 0, 'a reconnect');
      await alice.sendMessage({ to: bob.agentId, message: { n: 2 } });
      await waitFor(() => entries.length >= 2 || errors.length > 0, 'the second message');
      expect(errors).toEqual([]);
      expect(entries.map(bodyOrError)).toEqual([{ n: 1 }, { n: 2 }]);
    } finally {
      subscription.unsubscribe();
      await subscription.closed;
      alice.close();
      bob.close();
    }
  }, 40_000);

  // PROTOCOL §1/§10: the pending seed is written before the relay is asked "so a crash ... loses
  // no seed". Two rotations at once (two CLI runs, or the CLI and an MCP server): the second finds
  // the first's pendingSeed, sees the relay still on the old key, drops it and writes its own; the
  // first's relay call then succeeds and completeRotation() promotes whatever pendingSeed the file

  // PROTOCOL §2/§10: "A given key from which the directory shows verified rotations to its key is
  // not refused: the directory's key is pinned instead". When the given key equals the explicit
  // pin already on file (a script or an MCP agent passing the same --key / recipient_public_key
  // every time), decideRecipientKey answers 'keep' and no lookup is made; the prekey claimed in
  // parallel is signed by the rotated key, so verifyClaimed fails: PREKEY_INVALID ("the relay
  // handed out a one-time prekey ... not signed by the key pinned"), nothing sent, blaming an
  // honest relay.
  it('a send with the explicit key already pinned follows a rotation instead of PREKEY_INVALID', async () => {
    const [alice, bob] = await Promise.all([newAgent('alice'), newAgent('bob')]);
    const oldKey = bob.agentKey;
    await alice.pin(bob.agentId, oldKey);
    await alice.sendMessage({ to: bob.agentId, recipientKey: oldKey, message: { n: 1 } });
    await bob.rotateKey();
    try {
      const sent = await alice.sendMessage({
        to: bob.agentId,
        recipientKey: oldKey,
        message: { n: 2 },
      });
      expect(sent.recipientKey).toBe(bob.agentKey);
    } finally {
      alice.close();
      bob.close();
    }
  }, 20_000);
});
