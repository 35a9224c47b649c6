// End to end: the SDK in-process against real relays (a small message limit, and one that needs
// an access key).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveAgentKeys,
  generateSeed,
  parseAgentKey,
  randomBytes,
  sealMessage,
  toB64u,
} from '@deaddrop/contract';
import { DeadDropClient } from '../src/client.js';
import { isUnreadable, type InboxEntry, type ReceivedMessage } from '../src/inbox-entry.js';
import { createIdentity, loadIdentity, savePin } from '../src/keystore.js';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { rawRelayClient } from './raw-relay.js';

const MAX_MESSAGE_BYTES = 2048;
const API_KEY = 'test-access-key-0123456789';

let relay: SpawnedRelay;
let lockedRelay: SpawnedRelay;
let scratch: string;
let alice: DeadDropClient;
let bob: DeadDropClient;
let carol: DeadDropClient;

async function newAgent(
  agentId: string,
  relayUrl: string,
  options: { requireExplicitKeys?: boolean; apiKey?: string } = {},
) {
  const identity = await createIdentity(agentId, { home: join(scratch, agentId), relayUrl });
  const client = new DeadDropClient({ identity, ...options });
  return client;
}

function messages(entries: InboxEntry[]): ReceivedMessage[] {
  return entries.filter((entry): entry is ReceivedMessage => !isUnreadable(entry));
}

/** Moves the saved cursor past everything, then empties the mailbox. */
async function drain(client: DeadDropClient): Promise<void> {
  await client.pollAndDecrypt({ limit: 100 });
  const { messages: stored } = await client.poll({ limit: 100 });
  if (stored.length > 0) await client.deleteMessages(stored.map((message) => message.id));
}

beforeAll(async () => {
  [relay, lockedRelay, scratch] = await Promise.all([
    spawnRelay({ MAX_MESSAGE_SIZE: String(MAX_MESSAGE_BYTES), MAX_WAIT_MS: '1500' }),
    spawnRelay({ DEADDROP_API_KEYS: `other-key-abcdefghijkl,${API_KEY}` }),
    mkdtemp(join(tmpdir(), 'deaddrop-sdk-e2e-')),
  ]);
  [alice, bob, carol] = await Promise.all([
    newAgent('alice', relay.url),
    newAgent('bob', relay.url),
    newAgent('carol', relay.url),
  ]);
  await Promise.all([alice.register(), bob.register(), carol.register()]);
});

afterAll(async () => {
  await Promise.all([relay.stop(), lockedRelay.stop()]);
  await rm(scratch, { recursive: true, force: true });
});

describe('DeadDropClient against a real relay', () => {
  it('reports the relay limits and registers idempotently', async () => {
    const info = await alice.info();
    expect(info.limits.maxMessageBytes).toBe(MAX_MESSAGE_BYTES);
    expect(await alice.info()).toBe(info);
    await expect(alice.register()).resolves.toMatchObject({
      agentId: 'alice',
      agentKey: alice.agentKey,
      fingerprint: alice.fingerprint,
    });
  });

  it('looks agents up without pinning them', async () => {
    const entry = await alice.lookup('carol');
    expect(entry).toMatchObject({
      agentId: 'carol',
      agentKey: carol.agentKey,
      fingerprint: carol.fingerprint,
      pin: null,
      pinStatus: 'unpinned',
    });
    expect(alice.pins().get('carol')).toBeUndefined();
    await expect(alice.lookup('nobody')).rejects.toMatchObject({ reason: 'AGENT_NOT_FOUND' });
  });

  it('sends, pins on first contact, and receives verified messages with replies', async () => {
    const sent = await alice.sendMessage({ to: 'bob', message: { task: 'ping', n: 1 } });
    expect(sent).toMatchObject({
      to: 'bob',
      recipientKey: bob.agentKey,
      recipientFingerprint: bob.fingerprint,
      pinSource: 'directory',
      pinChange: 'new',
      duplicate: false,
    });
    expect(
      (await loadIdentity('alice', { home: join(scratch, 'alice') })).pins.get('bob'),
    ).toMatchObject({
      key: bob.agentKey,
      source: 'directory',
    });

    const [received] = await bob.pollAndDecrypt();
    expect(received).toMatchObject({
      id: sent.id,
      uid: sent.uid,
      from: 'alice',
      fromKey: alice.agentKey,
      fromFingerprint: alice.fingerprint,
      verified: true,
      body: { task: 'ping', n: 1 },
      pinSource: 'directory',
      receivedAt: sent.receivedAt,
    });
    expect(bob.pins().get('alice')?.source).toBe('directory');

    const reply = await bob.sendMessage({ to: 'alice', message: 'pong', replyTo: sent.uid });
    expect(reply.pinChange).toBe('none');
    const [answer] = await alice.pollAndDecrypt();
    expect(answer).toMatchObject({ from: 'bob', body: 'pong', replyTo: sent.uid, verified: true });
    await Promise.all([drain(alice), drain(bob)]);
  });

  it('pages with limit and keeps the cursor across client instances', async () => {
    for (const n of [1, 2, 3]) await alice.sendMessage({ to: 'bob', message: n });
    expect(messages(await bob.pollAndDecrypt({ limit: 2 })).map((m) => m.body)).toEqual([1, 2]);
    const bobAgain = await DeadDropClient.open('bob', {
      home: join(scratch, 'bob'),
      relayUrl: relay.url,
    });
    expect(messages(await bobAgain.pollAndDecrypt()).map((m) => m.body)).toEqual([3]);
    expect(await bobAgain.pollAndDecrypt()).toEqual([]);
    const stats = await bob.stats();
    expect(stats).toMatchObject({ agentId: 'bob', count: 3 });
    const ids = (await bob.poll()).messages.map((message) => message.id);
    expect(await bob.deleteMessages(ids)).toEqual({ deleted: 3 });
    expect((await bob.stats()).count).toBe(0);
  });

  it('returns a typed error entry for a bad envelope without hiding the others', async () => {
    await alice.sendMessage({ to: 'bob', message: 'before' });
    const garbage = new Uint8Array(200);
    garbage.set(randomBytes(199), 1);
    garbage[0] = 0x01;
    const junk = await rawRelayClient(relay.url).send.mutate({
      to: 'bob',
      ciphertext: toB64u(garbage),
    });
    await alice.sendMessage({ to: 'bob', message: 'after' });

    const entries = await bob.pollAndDecrypt();
    expect(entries).toHaveLength(3);
    expect(entries[1]).toEqual({
      id: junk.id,
      receivedAt: junk.receivedAt,
      error: 'decrypt-failed',
    });
    expect(messages(entries).map((m) => [m.body, m.verified])).toEqual([
      ['before', true],
      ['after', true],
    ]);
    await drain(bob);
  });

  it('flags a sender missing from the directory as unknown-sender, and never pins it', async () => {
    const ghost = deriveAgentKeys(generateSeed());
    const recipient = parseAgentKey(bob.agentKey);
    if (recipient === null) throw new Error('bad key');
    const sealed = sealMessage({ from: 'ghost', sender: ghost, to: 'bob', recipient, body: 'boo' });
    await rawRelayClient(relay.url).send.mutate({ to: 'bob', ciphertext: sealed.ciphertext });
    const [entry] = await bob.pollAndDecrypt();
    expect(entry).toMatchObject({
      from: 'ghost',
      verified: false,
      reason: 'unknown-sender',
      pinSource: null,
    });
    expect(bob.pins().get('ghost')).toBeUndefined();
    await drain(bob);
  });

  it('drops a replayed envelope in a later, separate client', async () => {
    const recipient = parseAgentKey(bob.agentKey);
    if (recipient === null) throw new Error('bad key');
    const sealed = sealMessage({
      from: 'alice',
      sender: alice.identity.keys,
      to: 'bob',
      recipient,
      body: 'only once',
    });
    const raw = rawRelayClient(relay.url);
    await raw.send.mutate({ to: 'bob', ciphertext: sealed.ciphertext });
    expect(messages(await bob.pollAndDecrypt()).map((m) => m.body)).toEqual(['only once']);
    const replay = await raw.send.mutate({ to: 'bob', ciphertext: sealed.ciphertext });
    const later = await DeadDropClient.open('bob', {
      home: join(scratch, 'bob'),
      relayUrl: relay.url,
    });
    expect(await later.pollAndDecrypt()).toEqual([
      { id: replay.id, receivedAt: replay.receivedAt, error: 'replayed' },
    ]);
    await drain(bob);
  });

  it('refuses a changed directory key unless accepted or given explicitly', async () => {
    const impostor = deriveAgentKeys(generateSeed()).agentKey;
    // As if carol had been pinned under another key earlier.
    await savePin(alice.identity, 'carol', { key: impostor, source: 'directory', pinnedAt: 1 });
    const aliceAgain = await DeadDropClient.open('alice', {
      home: join(scratch, 'alice'),
      relayUrl: relay.url,
    });
    const refused = aliceAgain.sendMessage({ to: 'carol', message: 'hi' });
    await expect(refused).rejects.toMatchObject({
      name: 'DeadDropError',
      reason: 'KEY_CHANGED',
      message: expect.stringContaining(carol.fingerprint) as unknown,
    });
    expect((await carol.stats()).count).toBe(0);

    const accepted = await aliceAgain.sendMessage({
      to: 'carol',
      message: 'hi',
      acceptNewKey: true,
    });
    expect(accepted).toMatchObject({ pinChange: 'replaced', pinSource: 'directory' });

    await savePin(alice.identity, 'carol', { key: impostor, source: 'explicit', pinnedAt: 1 });
    const third = await DeadDropClient.open('alice', {
      home: join(scratch, 'alice'),
      relayUrl: relay.url,
    });
    await expect(third.sendMessage({ to: 'carol', message: 'x' })).rejects.toMatchObject({
      reason: 'KEY_CHANGED',
    });
    const explicit = await third.sendMessage({
      to: 'carol',
      message: 'hi again',
      recipientKey: carol.agentKey,
    });
    expect(explicit).toMatchObject({ pinChange: 'replaced', pinSource: 'explicit' });
    expect(messages(await carol.pollAndDecrypt()).map((m) => m.verified)).toEqual([true, true]);
    await drain(carol);
  });

  it('in strict mode refuses first contact and does not trust directory pins for senders', async () => {
    const dave = await newAgent('dave', relay.url, { requireExplicitKeys: true });
    await dave.register();
    await expect(dave.sendMessage({ to: 'bob', message: 'hi' })).rejects.toMatchObject({
      reason: 'NOT_PINNED',
    });
    await dave.sendMessage({ to: 'bob', message: 'hi', recipientKey: bob.agentKey });
    await alice.sendMessage({ to: 'dave', message: 'hello dave' });
    const [entry] = await dave.pollAndDecrypt();
    expect(entry).toMatchObject({ from: 'alice', verified: false, reason: 'unpinned' });
    await dave.pin('alice', alice.agentKey);
    await alice.sendMessage({ to: 'dave', message: 'now?' });
    const [second] = await dave.pollAndDecrypt();
    expect(second).toMatchObject({ verified: true, pinSource: 'explicit' });
    await drain(bob);
  });

  it('refuses an explicit key the directory does not hold for that agent, unless accepted', async () => {
    const erin = await newAgent('keycheck', relay.url);
    await erin.register();
    // erin pasted carol's key as bob's: the relay's directory says otherwise.
    await expect(
      erin.sendMessage({ to: 'bob', message: 'hi', recipientKey: carol.agentKey }),
    ).rejects.toMatchObject({
      reason: 'KEY_MISMATCH',
      message: expect.stringMatching(
        /the key given for "bob" \(fingerprint .+\) is not the one/,
      ) as unknown,
    });
    await expect(erin.pin('bob', carol.agentKey)).rejects.toMatchObject({
      reason: 'KEY_MISMATCH',
    });
    expect(erin.pins().has('bob')).toBe(false);
    // The right key passes the check and is pinned as explicit.
    await expect(
      erin.sendMessage({ to: 'bob', message: 'hi', recipientKey: bob.agentKey }),
    ).resolves.toMatchObject({ pinSource: 'explicit', pinChange: 'new' });
    // An agent the directory does not know cannot be compared: the send itself fails.
    await expect(
      erin.sendMessage({ to: 'nobody-here', message: 'hi', recipientKey: carol.agentKey }),
    ).rejects.toMatchObject({ reason: 'AGENT_NOT_FOUND' });
    // Accepted on purpose: pinned as given.
    await expect(
      erin.pin('dave-unseen', carol.agentKey, { acceptKey: true }),
    ).resolves.toMatchObject({ key: carol.agentKey, source: 'explicit' });
    await drain(bob);
  });

  it('refuses an oversized message before sending it', async () => {
    const refused = alice.sendMessage({ to: 'bob', message: 'x'.repeat(MAX_MESSAGE_BYTES) });
    await expect(refused).rejects.toMatchObject({
      reason: 'MESSAGE_TOO_LARGE',
      message: expect.stringContaining(`at most ${MAX_MESSAGE_BYTES}`) as unknown,
    });
    expect((await bob.stats()).count).toBe(0);
    await expect(
      alice.sendMessage({ to: 'bob', message: 'x'.repeat(MAX_MESSAGE_BYTES / 2) }),
    ).resolves.toMatchObject({ bytes: expect.any(Number) as unknown });
    await drain(bob);
  });

  it('long-polls on its own request, so calls made in the same tick are not held up', async () => {
    const started = Date.now();
    let pollDone = 0;
    const waiting = bob.poll({ waitMs: 1_500 }).then((result) => {
      pollDone = Date.now();
      return result;
    });
    const stats = await bob.stats();
    const statsDone = Date.now();
    expect(stats.count).toBe(0);
    expect((await waiting).messages).toEqual([]);
    // Batched together, both would resolve when the long-poll ends.
    expect(pollDone - started).toBeGreaterThanOrEqual(1_400);
    expect(pollDone - statsDone).toBeGreaterThan(500);
  });

  it('pollAndDecrypt waits across several relay long-polls until a message arrives', async () => {
    const started = Date.now();
    const waiting = bob.pollAndDecrypt({ timeoutMs: 8_000 });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await alice.sendMessage({ to: 'bob', message: 'late' });
    expect(messages(await waiting).map((m) => m.body)).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(7_000);
    await drain(bob);
  });

  it('pollAndDecrypt gives up after timeoutMs', async () => {
    const started = Date.now();
    expect(await bob.pollAndDecrypt({ timeoutMs: 2_000 })).toEqual([]);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('surfaces relay refusals as typed errors', async () => {
    await expect(alice.sendMessage({ to: 'nobody', message: 'x' })).rejects.toMatchObject({
      reason: 'AGENT_NOT_FOUND',
    });
    await expect(alice.sendMessage({ to: 'Not An Id', message: 'x' })).rejects.toMatchObject({
      reason: 'INVALID_AGENT_ID',
    });
    const unreachable = new DeadDropClient({
      identity: alice.identity,
      relayUrl: 'http://127.0.0.1:9',
    });
    await expect(unreachable.stats()).rejects.toMatchObject({ reason: 'RELAY_UNREACHABLE' });
  });
});

describe('a relay with access keys', () => {
  it('refuses calls without the key and accepts them with it', async () => {
    const without = await newAgent('erin', lockedRelay.url);
    await expect(without.info()).resolves.toMatchObject({ relayId: expect.any(String) as unknown });
    await expect(without.register()).rejects.toMatchObject({ reason: 'API_KEY_INVALID' });

    const withKey = new DeadDropClient({ identity: without.identity, apiKey: API_KEY });
    await withKey.register();
    expect(await withKey.stats()).toMatchObject({ agentId: 'erin', count: 0 });
    await withKey.sendMessage({ to: 'erin', message: 'note to self' });
    expect(messages(await withKey.pollAndDecrypt())).toEqual([
      expect.objectContaining({ from: 'erin', body: 'note to self', verified: true }),
    ]);
  });
});
