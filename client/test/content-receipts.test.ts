// End to end, on both stores (embedded and Redis): v1.1 message content (files byte for byte, up to
// exactly the largest that fits), threads across three agents, and delivery receipts (PROTOCOL §6,
// §7) — both ways, by poll and live, none for unverified mail, none when turned off — and hostile
// v1.1 fields that leave the mailbox flowing.
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentKey, randomBytes, sealInnerBytes, toB64u, utf8 } from '@deaddrop/contract';
import { RATE_LIMITS_OFF, spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import type { DeadDropClientOptions, OwedReceipt } from '../src/client-types.js';
import { isUnreadable, type InboxEntry, type ReceivedMessage } from '../src/inbox-entry.js';
import { createIdentity } from '../src/keystore.js';
import type { ReceiptEvent } from '../src/receipts/receipt-event.js';
import { rawRelayClient } from './raw-relay.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
/** Agent ids unique to this run: the Redis store is shared and never flushed. */
const run = toB64u(randomBytes(6))
  .toLowerCase()
  .replace(/[^a-z0-9]/g, 'x');

function messages(entries: InboxEntry[]): ReceivedMessage[] {
  return entries.filter((entry): entry is ReceivedMessage => !isUnreadable(entry));
}

function only(entries: InboxEntry[]): ReceivedMessage {
  const [first, ...rest] = messages(entries);
  if (first === undefined || rest.length > 0) {
    throw new Error(`expected one message, got ${JSON.stringify(entries)}`);
  }
  return first;
}

async function until<T>(what: string, check: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const stores: { store: string; env: Record<string, string> }[] = [
  { store: 'embedded', env: {} },
  { store: 'redis', env: { REDIS_URL } },
];

describe.each(stores)('v1.1 content and receipts ($store store)', ({ store, env }) => {
  let relay: SpawnedRelay;
  let scratch: string;
  const clients: DeadDropClient[] = [];
  const receiptsOf = new Map<string, ReceiptEvent[]>();
  const receiptErrors: { error: unknown; owed: OwedReceipt }[] = [];

  /** A registered client; its receipt events are collected under `name`. */
  async function agent(
    name: string,
    options: Partial<DeadDropClientOptions> = {},
  ): Promise<DeadDropClient> {
    const agentId = `${name}-${store}-${run}`;
    const identity = await createIdentity(agentId, {
      home: join(scratch, agentId),
      relayUrl: relay.url,
    });
    const events: ReceiptEvent[] = [];
    receiptsOf.set(agentId, events);
    const client = new DeadDropClient({
      identity,
      onReceipt: (event) => events.push(event),
      onReceiptError: (error, owed) => receiptErrors.push({ error, owed }),
      ...options,
    });
    await client.register();
    clients.push(client);
    return client;
  }
  const receipts = (client: DeadDropClient): ReceiptEvent[] => receiptsOf.get(client.agentId) ?? [];

  let alice: DeadDropClient;
  let bob: DeadDropClient;
  let carol: DeadDropClient;

  beforeAll(async () => {
    [relay, scratch] = await Promise.all([
      spawnRelay({ ...RATE_LIMITS_OFF, ...env }),
      mkdtemp(join(tmpdir(), `deaddrop-content-${store}-`)),
    ]);
    [alice, bob, carol] = await Promise.all([agent('alice'), agent('bob'), agent('carol')]);
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await relay.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('sends files byte for byte: 1 byte, 500 KiB, and exactly the largest that fits', async () => {
    const limits = await alice.limits(bob.agentId);
    expect(limits.maxMessageBytes).toBe(1_048_576);
    for (const size of [1, 500 * 1024, limits.fileBytes]) {
      const data = new Uint8Array(nodeRandomBytes(size));
      const sent = await alice.sendMessage({
        to: bob.agentId,
        bytes: data,
        contentType: 'application/octet-stream',
      });
      expect(sent.bytes).toBeLessThanOrEqual(limits.maxMessageBytes);
      const received = only(await bob.pollAndDecrypt());
      expect(received).toMatchObject({
        uid: sent.uid,
        verified: true,
        contentType: 'application/octet-stream',
      });
      expect(received.filename).toBeUndefined();
      expect(received.data?.length).toBe(size);
      expect(Buffer.from(received.data ?? []).equals(Buffer.from(data))).toBe(true);
    }

    const named = await alice.sendMessage({
      to: bob.agentId,
      bytes: utf8('%PDF-1.7'),
      contentType: 'application/pdf',
      filename: 'report ü.pdf',
    });
    expect(only(await bob.pollAndDecrypt())).toMatchObject({
      uid: named.uid,
      contentType: 'application/pdf',
      filename: 'report ü.pdf',
      data: utf8('%PDF-1.7'),
    });
  }, 60_000);

  it('refuses one byte more than fits before sending, saying what fits', async () => {
    const limits = await alice.limits(bob.agentId);
    const before = (await bob.stats()).count;
    const tooBigFile = alice.sendMessage({
      to: bob.agentId,
      bytes: new Uint8Array(limits.fileBytes + 1),
      contentType: 'application/octet-stream',
    });
    await expect(tooBigFile).rejects.toMatchObject({ reason: 'MESSAGE_TOO_LARGE' });
    await expect(tooBigFile).rejects.toThrow(`at most ${limits.fileBytes} bytes of file data`);
    const tooMuchText = alice.sendMessage({
      to: bob.agentId,
      message: 'x'.repeat(limits.textBytes + 1),
    });
    await expect(tooMuchText).rejects.toMatchObject({ reason: 'MESSAGE_TOO_LARGE' });
    await expect(tooMuchText).rejects.toThrow(`at most ${limits.textBytes} bytes of text`);
    expect((await bob.stats()).count).toBe(before);
    // Text of exactly the limit goes.
    await alice.sendMessage({ to: bob.agentId, message: 'x'.repeat(limits.textBytes) });
    expect(only(await bob.pollAndDecrypt()).body).toHaveLength(limits.textBytes);
  }, 30_000);

  it('round-trips JSON and text with no content type', async () => {
    await alice.sendMessage({ to: bob.agentId, message: { task: 'sum', args: [1, 2] } });
    await alice.sendMessage({ to: bob.agentId, message: 'plain text ✓' });
    const [json, text] = messages(await bob.pollAndDecrypt());
    expect(json).toMatchObject({ body: { task: 'sum', args: [1, 2] }, receiptRequested: false });
    expect(text).toMatchObject({ body: 'plain text ✓' });
    for (const entry of [json, text]) {
      expect(entry).not.toHaveProperty('contentType');
      expect(entry).not.toHaveProperty('data');
    }
  });

  it('keeps a thread across three agents', async () => {
    const root = await alice.sendMessage({ to: bob.agentId, message: 'plan?' });
    const atBob = only(await bob.pollAndDecrypt());
    expect(atBob.threadId).toBeUndefined();
    const bobReply = await bob.reply(atBob, 'draft attached', { receipt: false });
    // Bob copies carol in on his answer to alice (a separate message in the same thread).
    const cc = await bob.sendMessage({
      to: carol.agentId,
      message: 'fyi: draft',
      replyTo: root.uid,
      threadId: root.uid,
    });
    const atAlice = only(await alice.pollAndDecrypt());
    expect(atAlice).toMatchObject({ uid: bobReply.uid, replyTo: root.uid, threadId: root.uid });
    const atCarol = only(await carol.pollAndDecrypt());
    expect(atCarol).toMatchObject({ uid: cc.uid, threadId: root.uid });
    const carolReply = await carol.reply(atCarol, {
      bytes: utf8('a,b\n1,2\n'),
      contentType: 'text/csv',
      filename: 'numbers.csv',
    });
    const atBobAgain = only(await bob.pollAndDecrypt());
    expect(atBobAgain).toMatchObject({
      uid: carolReply.uid,
      from: carol.agentId,
      replyTo: cc.uid,
      threadId: root.uid,
      contentType: 'text/csv',
      filename: 'numbers.csv',
    });
  });

  it('sends receipts both ways through polls, as events, never as messages', async () => {
    const asked = await alice.sendMessage({ to: bob.agentId, message: 'ack?', receipt: true });
    const atBob = only(await bob.pollAndDecrypt());
    expect(atBob.receiptRequested).toBe(true);
    await bob.flushReceipts();

    const stream = alice.receipts();
    expect(await alice.pollAndDecrypt()).toEqual([]);
    const event = await stream.next();
    await stream.return();
    expect(event.value).toMatchObject({
      from: bob.agentId,
      of: [asked.uid],
      status: 'delivered',
      verified: true,
    });
    expect(receipts(alice).map((e) => e.of)).toEqual([[asked.uid]]);
    // The cursor moved past the receipt: it comes neither as a message nor as an event again.
    expect(await alice.pollAndDecrypt()).toEqual([]);
    expect(receipts(alice)).toHaveLength(1);

    // The other way, two messages acknowledged by one receipt.
    const first = await bob.sendMessage({ to: alice.agentId, message: 1, receipt: true });
    const second = await bob.sendMessage({ to: alice.agentId, message: 2, receipt: true });
    expect(messages(await alice.pollAndDecrypt())).toHaveLength(2);
    await alice.flushReceipts();
    expect(await bob.pollAndDecrypt()).toEqual([]);
    expect(receipts(bob).at(-1)).toMatchObject({
      from: alice.agentId,
      of: [first.uid, second.uid],
      verified: true,
    });
    // A receipt never asks for one: alice's mailbox stays empty.
    await bob.flushReceipts();
    expect((await alice.poll({ after: (await alice.stats()).newestId ?? '0-0' })).messages).toEqual(
      [],
    );
    expect(receiptErrors).toEqual([]);
  });

  it('sends receipts for live delivery and hears them in subscribe()', async () => {
    const heard: ReceiptEvent[] = [];
    const aliceLive = alice.subscribe({
      onMessage: () => undefined,
      onReceipt: (event) => heard.push(event),
    });
    const bobGot: InboxEntry[] = [];
    const bobLive = bob.subscribe({
      onMessage: (entry) => {
        bobGot.push(entry);
      },
    });
    try {
      const asked = await alice.sendMessage({ to: bob.agentId, message: 'live', receipt: true });
      await until('bob to get it', () => (bobGot.length > 0 ? true : undefined));
      const event = await until('the receipt', () => heard[0]);
      expect(event).toMatchObject({ from: bob.agentId, of: [asked.uid], verified: true });
    } finally {
      aliceLive.unsubscribe();
      bobLive.unsubscribe();
      await Promise.all([aliceLive.closed, bobLive.closed]);
    }
  }, 20_000);

  it('sends no receipt for unverified mail, nor when turned off', async () => {
    // Dave pins carol's key under alice's name: alice's messages do not verify for him.
    const dave = await agent('dave');
    await dave.pin(alice.agentId, carol.agentKey, { acceptKey: true });
    const quiet = await agent('quiet', { receipts: false });
    const home = join(scratch, `envquiet-${store}-${run}`);
    await createIdentity(`envquiet-${store}-${run}`, { home, relayUrl: relay.url });
    const previous = process.env.DEADDROP_RECEIPTS;
    process.env.DEADDROP_RECEIPTS = 'off';
    let envQuiet: DeadDropClient;
    try {
      envQuiet = await DeadDropClient.open(`envquiet-${store}-${run}`, { home });
    } finally {
      if (previous === undefined) delete process.env.DEADDROP_RECEIPTS;
      else process.env.DEADDROP_RECEIPTS = previous;
    }
    clients.push(envQuiet);
    await envQuiet.register();

    const newestBefore = (await alice.stats()).newestId ?? '0-0';
    const verdicts: (string | undefined)[] = [];
    for (const reader of [dave, quiet, envQuiet]) {
      await alice.sendMessage({ to: reader.agentId, message: 'ack?', receipt: true });
      const entry = only(await reader.pollAndDecrypt());
      expect(entry.receiptRequested).toBe(true);
      verdicts.push(entry.verified ? 'verified' : entry.reason);
      await reader.flushReceipts();
    }
    expect(verdicts).toEqual(['key-mismatch', 'verified', 'verified']);
    // Nothing reached alice's mailbox: no receipt from any of the three.
    expect((await alice.poll({ after: newestBefore })).messages).toEqual([]);
  });

  it('reports a receipt it cannot send, and the poll still delivers', async () => {
    const errors: OwedReceipt[] = [];
    const failingSend: typeof fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.includes('/trpc/send')) return Promise.reject(new Error('send blocked by the test'));
      return fetch(input, init);
    };
    const picky = await agent('picky', {
      fetch: failingSend,
      sendRetry: { attempts: 1 },
      onReceiptError: (_error, owed) => errors.push(owed),
    });
    const asked = await alice.sendMessage({ to: picky.agentId, message: 'hi', receipt: true });
    expect(only(await picky.pollAndDecrypt()).uid).toBe(asked.uid);
    await picky.flushReceipts();
    expect(errors).toEqual([{ to: alice.agentId, of: [asked.uid] }]);
  });

  it('surfaces hostile v1.1 fields as bad-inner and keeps the mailbox flowing', async () => {
    const aliceKeys = alice.identity.keys;
    const bobKey = parseAgentKey(bob.agentKey);
    if (bobKey === null) throw new Error('bad key');
    const raw = rawRelayClient(relay.url);
    const inner = (fields: Record<string, unknown>) =>
      utf8(
        JSON.stringify({
          v: 1,
          id: toB64u(randomBytes(16)),
          kind: 'message',
          from: alice.agentId,
          fromKey: alice.agentKey,
          to: bob.agentId,
          sentAt: Date.now(),
          body: 'x',
          ...fields,
        }),
      );
    for (const fields of [
      { kind: 'receipt', body: { of: 'everything', status: 'delivered' } },
      { contentType: 'application/pdf', body: 'not base64url!' },
      { contentType: 'text/plain', filename: '../x', body: 'AA' },
      { contentType: 'text/plain', filename: 'x'.repeat(300), body: 'AA' },
    ]) {
      const { ciphertext } = sealInnerBytes(inner(fields), {
        sender: aliceKeys,
        recipient: bobKey,
      });
      await raw.send.mutate({ to: bob.agentId, ciphertext });
    }
    const after = await alice.sendMessage({ to: bob.agentId, message: 'still here' });
    const entries = await bob.pollAndDecrypt();
    expect(entries.slice(0, 4).map((entry) => isUnreadable(entry) && entry.error)).toEqual([
      'bad-inner',
      'bad-inner',
      'bad-inner',
      'bad-inner',
    ]);
    expect(entries[4]).toMatchObject({ uid: after.uid, body: 'still here', verified: true });
    expect(await bob.pollAndDecrypt()).toEqual([]);
  });
});
