// The relay over real HTTP on loopback, with the real tRPC client, on both store drivers: every
// procedure and every error code of PROTOCOL §3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, signRegistration, toB64u } from '@deaddrop/contract';
import {
  authHeader,
  makeAgent,
  mailboxClient,
  rawBatchClient,
  rawClient,
  register,
  rejection,
  seal,
  startTestRelay,
  type StoreKind,
  type TestRelay,
} from './support/relay-harness.js';

const idemKey = (): string => toB64u(randomBytes(16));

describe.each<StoreKind>(['embedded', 'redis'])('relay over HTTP (%s store)', (kind) => {
  let relay: TestRelay;
  const alice = makeAgent('alice');
  const bob = makeAgent('bob');
  const carol = makeAgent('carol');

  beforeAll(async () => {
    relay = await startTestRelay(kind, {
      MAX_MESSAGE_SIZE: '4169',
      STREAM_MAX_LEN: '5',
      MAX_WAIT_MS: '3000',
    });
    for (const agent of [alice, bob, carol]) await register(relay.url, relay.relayId, agent);
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('info reports relay id, version, limits and the protocol versions it speaks', async () => {
    const info = await rawClient(relay.url).info.query();
    expect(info.relayId).toBe(relay.relayId);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.limits).toEqual({
      maxMessageBytes: 4169,
      ttlSeconds: 86_400,
      maxMessages: 5,
      authWindowSeconds: 60,
      maxWaitMs: 3000,
      maxBatchBytes: 4 * 4169,
    });
    expect(info.protocol).toEqual(['v1', 'v1.1']);
  });

  describe('directory', () => {
    it('registers idempotently and refuses another key for a taken id', async () => {
      const again = await register(relay.url, relay.relayId, alice);
      expect(again.agentKey).toBe(alice.keys.agentKey);
      const impostor = makeAgent('alice');
      expect(await rejection(register(relay.url, relay.relayId, impostor))).toMatchObject({
        code: 'CONFLICT',
        status: 409,
        reason: 'AGENT_ID_TAKEN',
      });
    });

    it('refuses bad, stale and foreign-relay registration signatures with 401', async () => {
      const dave = makeAgent('dave');
      const client = rawClient(relay.url);
      const signed = signRegistration({ relayId: relay.relayId, agentId: 'dave', keys: dave.keys });
      const other = makeAgent('other');
      const wrongSigner = {
        ...signed,
        sig: signRegistration({ relayId: relay.relayId, agentId: 'dave', keys: other.keys }).sig,
      };
      expect(await rejection(client.directory.register.mutate(wrongSigner))).toMatchObject({
        status: 401,
        reason: 'REGISTER_BAD_SIGNATURE',
      });
      const foreign = signRegistration({
        relayId: 'another-relay',
        agentId: 'dave',
        keys: dave.keys,
      });
      expect(await rejection(client.directory.register.mutate(foreign))).toMatchObject({
        status: 401,
        reason: 'REGISTER_BAD_SIGNATURE',
      });
      const stale = signRegistration({
        relayId: relay.relayId,
        agentId: 'dave',
        keys: dave.keys,
        ts: Date.now() - 120_000,
      });
      expect(await rejection(client.directory.register.mutate(stale))).toMatchObject({
        status: 401,
        reason: 'REGISTER_STALE',
      });
      expect(await rejection(client.directory.lookup.query({ agentId: 'dave' }))).toMatchObject({
        status: 404,
      });
    });

    it('refuses weak and non-canonical keys with 400', async () => {
      const client = rawClient(relay.url);
      const good = signRegistration({
        relayId: relay.relayId,
        agentId: 'erin',
        keys: makeAgent('erin').keys,
      });
      // All-zero Ed25519 key: a point of order 4, which would verify forged signatures.
      const zeroSign = `ddk1_${toB64u(new Uint8Array(32))}${good.agentKey.slice(5 + 43)}`;
      const weak = `ddk1_${toB64u(new Uint8Array([...new Uint8Array(32), ...new Uint8Array(32)]))}`;
      const nonCanonical =
        good.agentKey.slice(0, -1) +
        String.fromCharCode(good.agentKey.charCodeAt(good.agentKey.length - 1) + 1);
      for (const agentKey of [zeroSign, weak, nonCanonical, 'ddk1_short', `${good.agentKey}=`]) {
        expect(
          await rejection(client.directory.register.mutate({ ...good, agentKey })),
        ).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
      }
    });

    it('looks up registered agents and answers 404 for others', async () => {
      const client = rawClient(relay.url);
      expect(await client.directory.lookup.query({ agentId: 'bob' })).toMatchObject({
        agentId: 'bob',
        agentKey: bob.keys.agentKey,
      });
      expect(await rejection(client.directory.lookup.query({ agentId: 'nobody' }))).toMatchObject({
        code: 'NOT_FOUND',
        status: 404,
        reason: 'AGENT_NOT_FOUND',
      });
      expect(
        await rejection(client.directory.lookup.query({ agentId: 'Not Valid' })),
      ).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
    });
  });

  describe('send, poll, stats, delete', () => {
    it('stores, polls, long-polls, counts and deletes', async () => {
      const sender = rawClient(relay.url);
      const bobBox = (scope: string) => mailboxClient(relay.url, relay.relayId, bob, scope);
      const first = await sender.send.mutate({ to: 'bob', ciphertext: seal(alice, bob, 1) });
      expect(first.duplicate).toBe(false);
      expect(first.expiresAt - first.receivedAt).toBe(86_400_000);
      expect(first.id).toMatch(/^\d+-\d+$/);
      const second = await sender.send.mutate({ to: 'bob', ciphertext: seal(alice, bob, 2) });

      const all = await bobBox('poll').poll.query({});
      expect(all.messages.map((m) => m.id)).toEqual([first.id, second.id]);
      expect(all.cursor).toBe(second.id);
      const page = await bobBox('poll').poll.query({ limit: 1 });
      expect(page.messages.map((m) => m.id)).toEqual([first.id]);
      const empty = await bobBox('poll').poll.query({ after: second.id });
      expect(empty).toEqual({ messages: [], cursor: second.id });

      const waiting = bobBox('poll').poll.query({ after: second.id, waitMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const third = await sender.send.mutate({ to: 'bob', ciphertext: seal(alice, bob, 3) });
      const woken = await waiting;
      expect(woken.messages.map((m) => m.id)).toEqual([third.id]);

      const stats = await bobBox('stats').stats.query();
      expect(stats).toMatchObject({
        agentId: 'bob',
        count: 3,
        oldestId: first.id,
        newestId: third.id,
      });
      expect(stats.bytes).toBeGreaterThanOrEqual(3 * 169);

      const removed = await bobBox('delete').delete.mutate({ ids: [first.id, second.id, '1-1'] });
      expect(removed.deleted).toBe(2);
      expect((await bobBox('stats').stats.query()).count).toBe(1);
      await bobBox('delete').delete.mutate({ ids: [third.id] });
      const emptied = await bobBox('stats').stats.query();
      expect(emptied).toMatchObject({ count: 0, bytes: 0, oldestId: null, newestId: null });
    });

    it('clamps waitMs to maxWaitMs', async () => {
      const started = Date.now();
      const result = await mailboxClient(relay.url, relay.relayId, carol, 'poll').poll.query({
        waitMs: Number.MAX_SAFE_INTEGER,
      });
      expect(result.messages).toEqual([]);
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('is idempotent per key and refuses a reused key with CONFLICT', async () => {
      const sender = rawClient(relay.url);
      const key = idemKey();
      const ciphertext = seal(alice, carol);
      const first = await sender.send.mutate({ to: 'carol', ciphertext, idempotencyKey: key });
      const again = await sender.send.mutate({ to: 'carol', ciphertext, idempotencyKey: key });
      expect(again).toEqual({ ...first, duplicate: true });
      expect(
        await rejection(
          sender.send.mutate({ to: 'carol', ciphertext: seal(alice, carol), idempotencyKey: key }),
        ),
      ).toMatchObject({ code: 'CONFLICT', status: 409, reason: 'IDEMPOTENCY_CONFLICT' });
      const stats = await mailboxClient(relay.url, relay.relayId, carol, 'stats').stats.query();
      expect(stats.count).toBe(1);
    });

    it('checks encoding, then size, then recipient, then quota', async () => {
      const sender = rawClient(relay.url);
      const valid = seal(alice, carol);
      const bytes = Buffer.from(valid, 'base64url');
      const badVersion = Buffer.from(bytes);
      badVersion[0] = 3; // 1 and 2 (prekey, PROTOCOL §10) are envelope versions
      const cases: [string, string][] = [
        ['padding', `${valid}=`],
        ['alphabet', `${valid.slice(0, -4)}+/+/`],
        ['version', badVersion.toString('base64url')],
        ['short', bytes.subarray(0, 168).toString('base64url')],
      ];
      for (const [, ciphertext] of cases) {
        expect(await rejection(sender.send.mutate({ to: 'carol', ciphertext }))).toMatchObject({
          code: 'BAD_REQUEST',
          status: 400,
          reason: 'BAD_CIPHERTEXT',
        });
      }
      expect(
        await rejection(
          sender.send.mutate({ to: 'carol', ciphertext: valid, idempotencyKey: 'short' }),
        ),
      ).toMatchObject({ status: 400 });
      const big = seal(alice, carol, 'x'.repeat(5000));
      // Too large is reported even for an unknown recipient: size is checked first.
      expect(await rejection(sender.send.mutate({ to: 'nobody', ciphertext: big }))).toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        status: 413,
        reason: 'MESSAGE_TOO_LARGE',
      });
      expect(
        await rejection(sender.send.mutate({ to: 'nobody', ciphertext: valid })),
      ).toMatchObject({ code: 'NOT_FOUND', status: 404 });
      // Exactly the limit is allowed (73 + padLen(4096) = 4169 bytes decoded).
      let body = 'x'.repeat(3000);
      let sealed = seal(alice, carol, body);
      while (Buffer.from(sealed, 'base64url').length < 4169) {
        body += 'x'.repeat(64);
        sealed = seal(alice, carol, body);
      }
      expect(Buffer.from(sealed, 'base64url').length).toBe(4169);
      await expect(sender.send.mutate({ to: 'carol', ciphertext: sealed })).resolves.toMatchObject({
        duplicate: false,
      });
    });

    it('refuses a full mailbox with 429 and accepts again after a delete', async () => {
      const dan = makeAgent('dan');
      await register(relay.url, relay.relayId, dan);
      const sender = rawClient(relay.url);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push((await sender.send.mutate({ to: 'dan', ciphertext: seal(alice, dan, i) })).id);
      const full = await rejection(sender.send.mutate({ to: 'dan', ciphertext: seal(alice, dan) }));
      expect(full).toMatchObject({
        code: 'TOO_MANY_REQUESTS',
        status: 429,
        reason: 'MAILBOX_FULL',
      });
      expect(full.message).toContain('mailbox full');
      expect(full.message).toContain('5 messages waiting');
      await mailboxClient(relay.url, relay.relayId, dan, 'delete').delete.mutate({
        ids: [ids[0] ?? ''],
      });
      await expect(
        sender.send.mutate({ to: 'dan', ciphertext: seal(alice, dan) }),
      ).resolves.toMatchObject({ duplicate: false });
    });
  });

  describe('mailbox auth', () => {
    const statsWith = (headers: Record<string, string>) =>
      rawClient(relay.url, () => headers).stats.query();

    it('refuses every kind of bad proof with 401', async () => {
      const mallory = makeAgent('mallory');
      const ghost = makeAgent('ghost');
      const cases: [string, Record<string, string>, string][] = [
        ['missing', {}, 'AUTH_MISSING'],
        ['wrong scheme', { authorization: 'Bearer abc' }, 'AUTH_MALFORMED'],
        ['not base64url', { authorization: 'DeadDrop %%%' }, 'AUTH_MALFORMED'],
        [
          'not a proof',
          { authorization: `DeadDrop ${toB64u(Buffer.from('{"agentId":"bob"}'))}` },
          'AUTH_MALFORMED',
        ],
        ['unknown agent', authHeader(relay.relayId, ghost, 'stats'), 'AGENT_NOT_REGISTERED'],
        [
          'wrong signer',
          authHeader(relay.relayId, mallory, 'stats', { agentId: 'bob' }),
          'AUTH_BAD_SIGNATURE',
        ],
        [
          'stale',
          authHeader(relay.relayId, bob, 'stats', { ts: Date.now() - 61_000 }),
          'AUTH_STALE',
        ],
        [
          'future',
          authHeader(relay.relayId, bob, 'stats', { ts: Date.now() + 61_000 }),
          'AUTH_STALE',
        ],
        ['wrong relay', authHeader('another-relay', bob, 'stats'), 'AUTH_BAD_SIGNATURE'],
        ['wrong scope', authHeader(relay.relayId, bob, 'poll'), 'AUTH_WRONG_SCOPE'],
      ];
      for (const [name, headers, reason] of cases) {
        const result = await rejection(statsWith(headers));
        expect({ name, ...result }).toMatchObject({
          name,
          code: 'UNAUTHORIZED',
          status: 401,
          reason,
        });
      }
    });

    it('refuses a replayed nonce', async () => {
      const headers = authHeader(relay.relayId, bob, 'stats');
      await expect(statsWith(headers)).resolves.toMatchObject({ agentId: 'bob' });
      expect(await rejection(statsWith(headers))).toMatchObject({
        status: 401,
        reason: 'AUTH_REPLAYED',
      });
    });

    it('accepts one proof for a batch whose scope lists its paths in order', async () => {
      let scope = 'stats,poll';
      const client = rawBatchClient(relay.url, () => authHeader(relay.relayId, bob, scope));
      const [stats, poll] = await Promise.all([client.stats.query(), client.poll.query({})]);
      expect(stats.agentId).toBe('bob');
      expect(poll.cursor).toMatch(/^\d+-\d+$/);
      scope = 'poll,stats';
      const refused = await Promise.allSettled([client.stats.query(), client.poll.query({})]);
      expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    });

    it('lets info, lookup, register and send ignore a bad authorization header', async () => {
      const client = rawClient(relay.url, () => ({ authorization: 'DeadDrop garbage' }));
      await expect(client.info.query()).resolves.toMatchObject({ relayId: relay.relayId });
      await expect(client.directory.lookup.query({ agentId: 'bob' })).resolves.toMatchObject({
        agentId: 'bob',
      });
      await expect(
        client.send.mutate({ to: 'carol', ciphertext: seal(alice, carol) }),
      ).resolves.toMatchObject({ duplicate: false });
    });

    it('answers proper HTTP statuses on the wire', async () => {
      const response = await fetch(`${relay.url}/trpc/stats`);
      expect(response.status).toBe(401);
      const body = (await response.json()) as {
        error: { json: { data: { reason: string; stack?: string } } };
      };
      expect(body.error.json.data.reason).toBe('AUTH_MISSING');
      expect(body.error.json.data.stack).toBeUndefined();
      const malformed = await fetch(`${relay.url}/trpc/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{not json',
      });
      expect(malformed.status).toBe(400);
    });
  });
});

describe('relay access keys', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay('embedded', { DEADDROP_API_KEYS: 'key-one, key-two' });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('requires a key for everything but info', async () => {
    const agent = makeAgent('keyed');
    await expect(rawClient(relay.url).info.query()).resolves.toMatchObject({
      relayId: relay.relayId,
    });
    expect(await rejection(register(relay.url, relay.relayId, agent))).toMatchObject({
      status: 401,
      reason: 'API_KEY_INVALID',
    });
    expect(
      await rejection(
        register(relay.url, relay.relayId, agent, { 'x-deaddrop-api-key': 'key-three' }),
      ),
    ).toMatchObject({ status: 401, reason: 'API_KEY_INVALID' });
    await expect(
      register(relay.url, relay.relayId, agent, { 'x-deaddrop-api-key': 'key-two' }),
    ).resolves.toMatchObject({ agentId: 'keyed' });
    const proof = (): Record<string, string> => ({ ...authHeader(relay.relayId, agent, 'stats') });
    expect(await rejection(rawClient(relay.url, proof).stats.query())).toMatchObject({
      status: 401,
      reason: 'API_KEY_INVALID',
    });
    await expect(
      rawClient(relay.url, () => ({ ...proof(), 'x-deaddrop-api-key': 'key-one' })).stats.query(),
    ).resolves.toMatchObject({ count: 0 });
  });
});
