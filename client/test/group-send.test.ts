// End to end, on both stores: the SDK's group send (PROTOCOL §8) — one sendMany, a result per
// recipient (an unregistered one and a full mailbox are that recipient's errors, the others are
// stored and open with the group named), reply-all in the same group and thread, replies by an id
// the state file remembers after the mailbox copy is gone, and the delivery record of receipts. And
// a relay that speaks only v1 (no `info.protocol`) still gets the copies, one `send` each.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, toB64u } from '@deaddrop/contract';
import { RATE_LIMITS_OFF, spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { isDeadDropError } from '../src/errors.js';
import { isUnreadable, type InboxEntry, type ReceivedMessage } from '../src/inbox-entry.js';
import { createIdentity, loadIdentity } from '../src/keystore.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const run = toB64u(randomBytes(6))
  .toLowerCase()
  .replace(/[^a-z0-9]/g, 'x');
/** A mailbox holds this many: the "full" recipient is filled to it first. */
const MAILBOX_QUOTA = 3;

function messages(entries: InboxEntry[]): ReceivedMessage[] {
  return entries.filter((entry): entry is ReceivedMessage => !isUnreadable(entry));
}

const stores: { store: string; env: Record<string, string> }[] = [
  { store: 'embedded', env: {} },
  { store: 'redis', env: { REDIS_URL } },
];

describe.each(stores)('group send through the SDK ($store store)', ({ store, env }) => {
  let relay: SpawnedRelay;
  let scratch: string;
  const clients: DeadDropClient[] = [];

  async function agent(name: string, register = true): Promise<DeadDropClient> {
    const agentId = `${name}-g${store.slice(0, 1)}-${run}`;
    const identity = await createIdentity(agentId, {
      home: join(scratch, agentId),
      relayUrl: relay.url,
    });
    const client = new DeadDropClient({ identity, receipts: true });
    if (register) await client.register();
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    [relay, scratch] = await Promise.all([
      spawnRelay({ ...RATE_LIMITS_OFF, ...env, STREAM_MAX_LEN: String(MAILBOX_QUOTA) }),
      mkdtemp(join(tmpdir(), `deaddrop-group-${store}-`)),
    ]);
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await relay.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('sends to five: an unregistered and a full mailbox fail alone, the others open with the group', async () => {
    const [alice, bob, carol, dave, full] = await Promise.all([
      agent('alice'),
      agent('bob'),
      agent('carol'),
      agent('dave'),
      agent('full'),
    ]);
    const ghost = `ghost-g${store.slice(0, 1)}-${run}`;
    for (let i = 0; i < MAILBOX_QUOTA; i++)
      await alice.sendMessage({ to: full.agentId, message: i });

    const recipients = [bob.agentId, ghost, carol.agentId, full.agentId, dave.agentId];
    const group = await alice.sendMessage({ to: recipients, message: { q: 'all hands?' } });
    expect(group.members).toEqual([alice.agentId, ...recipients]);
    expect(group.results.map((result) => result.to)).toEqual(recipients);
    const byTo = new Map(group.results.map((result) => [result.to, result]));
    const failure = (to: string): string | undefined => {
      const result = byTo.get(to);
      return result?.ok === false ? result.error.reason : undefined;
    };
    expect(failure(ghost)).toBe('AGENT_NOT_FOUND');
    expect(failure(full.agentId)).toBe('MAILBOX_FULL');
    for (const reader of [bob, carol, dave]) {
      const result = byTo.get(reader.agentId);
      expect(result?.ok).toBe(true);
      const [message, ...rest] = messages(await reader.pollAndDecrypt());
      expect(rest).toEqual([]);
      expect(message?.verified).toBe(true);
      expect(message?.body).toEqual({ q: 'all hands?' });
      expect(message?.group).toEqual({ id: group.groupId, members: group.members });
      if (result?.ok === true) {
        expect(message?.uid).toBe(result.sent.uid);
        expect(result.sent.forwardSecret).toBe(true);
      }
    }
    // The recipients were looked up and pinned at once; every pin reached the file.
    const onDisk = await loadIdentity(alice.agentId, { home: join(scratch, alice.agentId) });
    for (const reader of [bob, carol, dave])
      expect(onDisk.pins.get(reader.agentId)?.key).toBe(reader.agentKey);
  });

  it('replies to all in the same group and thread, by an id remembered after deletion', async () => {
    const [alice, bob, carol] = await Promise.all([agent('ra'), agent('rb'), agent('rc')]);
    const sent = await alice.sendMessage({ to: [bob.agentId, carol.agentId], message: 'plan?' });
    const [atBob] = messages(await bob.pollAndDecrypt());
    if (atBob === undefined) throw new Error('bob got nothing');
    await bob.deleteMessages([atBob.id]);

    const remembered = await bob.findReceived(atBob.id);
    expect(remembered).toMatchObject({ uid: atBob.uid, from: alice.agentId, group: atBob.group });
    expect(await bob.findReceived(atBob.uid)).toEqual(remembered);
    if (remembered === undefined) throw new Error('not remembered');

    const answer = await bob.replyAll(remembered, 'tuesday');
    expect(answer.groupId).toBe(sent.groupId);
    expect(answer.results.map((result) => [result.to, result.ok])).toEqual([
      [alice.agentId, true],
      [carol.agentId, true],
    ]);
    for (const reader of [alice, carol]) {
      const got = messages(await reader.pollAndDecrypt()).filter((m) => m.from === bob.agentId);
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({
        body: 'tuesday',
        replyTo: atBob.uid,
        threadId: atBob.uid,
        group: { id: sent.groupId },
      });
    }
    // A plain reply goes to the sender alone.
    const single = await carol.reply(remembered, 'only to alice');
    expect(single.to).toBe(alice.agentId);
  });

  it('refuses a group naming yourself, twice the same id, or nobody, before sending', async () => {
    const alice = await agent('va');
    const bob = await agent('vb');
    for (const to of [[alice.agentId, bob.agentId], [bob.agentId, bob.agentId], []]) {
      const error: unknown = await alice.sendMessage({ to, message: 'x' }).catch((e: unknown) => e);
      expect(isDeadDropError(error, 'INVALID_MESSAGE')).toBe(true);
    }
    expect((await bob.stats()).count).toBe(0);
  });

  it('records which receipt-requesting sends were delivered', async () => {
    const [alice, bob, carol] = await Promise.all([agent('da'), agent('db'), agent('dc')]);
    const sent = await alice.sendMessage({
      to: [bob.agentId, carol.agentId],
      message: 'ack please',
      receipt: true,
    });
    const uids = sent.results.flatMap((result) => (result.ok ? [result.sent.uid] : []));
    expect(uids).toHaveLength(2);
    expect((await alice.deliveries()).map((record) => record.deliveredAt)).toEqual([
      undefined,
      undefined,
    ]);
    await bob.pollAndDecrypt();
    await bob.flushReceipts();
    await alice.pollAndDecrypt();
    const records = new Map((await alice.deliveries()).map((record) => [record.to, record]));
    expect(records.get(bob.agentId)?.deliveredAt).toBeTypeOf('number');
    expect(records.get(carol.agentId)?.deliveredAt).toBeUndefined();
  });

  it('sends one copy at a time to a relay that speaks only v1 (no info.protocol)', async () => {
    const [bob, carol] = await Promise.all([agent('ob'), agent('oc')]);
    const calledPaths: string[] = [];
    // The relay as a v1 relay would answer: `info` without `protocol`, and no sendMany used.
    const v1Fetch: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      calledPaths.push(url.pathname);
      const response = await fetch(input, init);
      if (!url.pathname.endsWith('/info')) return response;
      const answer = (await response.json()) as {
        result: { data: { json: Record<string, unknown> } };
      };
      delete answer.result.data.json.protocol;
      return Response.json(answer, { status: response.status });
    };
    const agentId = `old-g${store.slice(0, 1)}-${run}`;
    const identity = await createIdentity(agentId, {
      home: join(scratch, agentId),
      relayUrl: relay.url,
    });
    const old = new DeadDropClient({ identity, fetch: v1Fetch });
    clients.push(old);
    await old.register();
    const sent = await old.sendMessage({ to: [bob.agentId, carol.agentId], message: 'v1 relay' });
    expect(sent.results.every((result) => result.ok)).toBe(true);
    expect(calledPaths.some((path) => path.includes('sendMany'))).toBe(false);
    expect(calledPaths.filter((path) => path.endsWith('/send'))).toHaveLength(2);
    for (const reader of [bob, carol]) {
      const [message] = messages(await reader.pollAndDecrypt());
      expect(message?.body).toBe('v1 relay');
    }
  });
});
