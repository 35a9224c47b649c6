// A store that lost an agent (Redis restarted without persistence, a restored backup) behind a
// relay's back: every mailbox path refuses with AGENT_NOT_REGISTERED although the relay process
// has the agent's record cached, never an empty mailbox (PROTOCOL §10 "Re-registration"); a
// prekey claim for it is not found, never "none left".
// Re-registering the same identity brings the mailbox back.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { TRPCClientError } from '@trpc/client';
import { generatePrekey, signRegistration } from '@deaddrop/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../src/store/embedded/database.js';
import { wsClient } from './support/live-clients.js';
import {
  REDIS_URL,
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
  type TestAgent,
  type TestRelay,
} from './support/relay-harness.js';

const sender = makeAgent('sender');

/** Deletes the agent's directory record from the relay's storage, not through the relay. */
async function forgetBehindTheRelay(kind: StoreKind, relay: TestRelay, agentId: string) {
  await behindTheRelay(
    kind,
    relay,
    async (redis) => {
      expect(await redis.del(`dd:{${agentId}}:agent`)).toBe(1);
    },
    (db) => {
      expect(db.prepare('DELETE FROM agents WHERE agent_id = ?').run(agentId).changes).toBe(1);
    },
  );
}

/** Replaces the agent's key in the relay's storage, not through the relay. */
async function setKeyBehindTheRelay(
  kind: StoreKind,
  relay: TestRelay,
  agentId: string,
  agentKey: string,
) {
  await behindTheRelay(
    kind,
    relay,
    async (redis) => {
      expect(await redis.hset(`dd:{${agentId}}:agent`, 'key', agentKey)).toBe(0);
    },
    (db) => {
      expect(
        db.prepare('UPDATE agents SET agent_key = ? WHERE agent_id = ?').run(agentKey, agentId)
          .changes,
      ).toBe(1);
    },
  );
}

async function behindTheRelay(
  kind: StoreKind,
  relay: TestRelay,
  onRedis: (redis: Redis) => Promise<void>,
  onSqlite: (db: Database.Database) => void,
): Promise<void> {
  if (kind === 'redis') {
    const redis = new Redis(REDIS_URL, { keyPrefix: relay.keyPrefix });
    try {
      await onRedis(redis);
    } finally {
      redis.disconnect();
    }
    return;
  }
  const db = new Database(join(relay.dataDir, DATABASE_FILE));
  try {
    db.pragma('busy_timeout = 5000');
    onSqlite(db);
  } finally {
    db.close();
  }
}

describe.each<StoreKind>(['embedded', 'redis'])('recovery after a lost store (%s)', (kind) => {
  let relay: TestRelay;
  let counter = 0;

  beforeAll(async () => {
    relay = await startTestRelay(kind);
  });
  afterAll(async () => {
    await relay.stop();
  });

  /** An agent registered, with one message waiting and its record in the relay's cache. */
  async function usedThenForgotten(): Promise<TestAgent> {
    const agent = makeAgent(`lost-${counter++}`);
    await register(relay.url, relay.relayId, agent);
    await rawClient(relay.url).send.mutate({ to: agent.agentId, ciphertext: seal(sender, agent) });
    const stats = await mailboxClient(relay.url, relay.relayId, agent, 'stats').stats.query();
    expect(stats.count).toBe(1);
    await forgetBehindTheRelay(kind, relay, agent.agentId);
    return agent;
  }

  const notRegistered = { code: 'UNAUTHORIZED', status: 401, reason: 'AGENT_NOT_REGISTERED' };

  it('refuses procedures (lane and batch) and the long-poll, and lookup and send say not found', async () => {
    const agent = await usedThenForgotten();
    const lane = mailboxClient(relay.url, relay.relayId, agent, 'stats');
    const stats = await rejection(lane.stats.query());
    expect(stats).toMatchObject(notRegistered);
    expect(stats.message).toContain('register');
    const poll = mailboxClient(relay.url, relay.relayId, agent, 'poll');
    expect(await rejection(poll.poll.query({ waitMs: 1_000 }))).toMatchObject(notRegistered);
    expect(await rejection(poll.poll.query({}))).toMatchObject(notRegistered);
    const batch = rawBatchClient(relay.url, () => authHeader(relay.relayId, agent, 'stats'));
    expect(await rejection(batch.stats.query())).toMatchObject(notRegistered);

    expect(
      await rejection(rawClient(relay.url).directory.lookup.query({ agentId: agent.agentId })),
    ).toMatchObject({ status: 404, reason: 'AGENT_NOT_FOUND' });
    expect(
      await rejection(
        rawClient(relay.url).send.mutate({ to: agent.agentId, ciphertext: seal(sender, agent) }),
      ),
    ).toMatchObject({ status: 404, reason: 'AGENT_NOT_FOUND' });
  });

  it('answers a prekey claim for the agent with not found, not "none left"', async () => {
    const agent = makeAgent(`lost-${counter++}`);
    await register(relay.url, relay.relayId, agent);
    const { prekey } = generatePrekey(agent.agentId, agent.keys);
    await mailboxClient(
      relay.url,
      relay.relayId,
      agent,
      'directory.publishPrekeys',
    ).directory.publishPrekeys.mutate({ prekeys: [prekey] });
    await forgetBehindTheRelay(kind, relay, agent.agentId);
    // The relay process still caches the agent; the store's claim step is what finds it gone.
    const claim = () =>
      rawClient(relay.url).directory.claimPrekey.mutate({ agentId: agent.agentId });
    const notFound = { code: 'NOT_FOUND', status: 404, reason: 'AGENT_NOT_FOUND' };
    expect(await rejection(claim())).toMatchObject(notFound);
    expect(await rejection(claim())).toMatchObject(notFound);
  });

  it('refuses the SSE inbox before any stream', async () => {
    const agent = await usedThenForgotten();
    const url = `${relay.url}/trpc/inbox?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`;
    const answer = await fetch(url, {
      headers: { ...authHeader(relay.relayId, agent, 'inbox'), accept: 'text/event-stream' },
    });
    expect(answer.status).toBe(401);
    const body = (await answer.json()) as { error: { json: { data: { reason: string } } } };
    expect(body.error.json.data.reason).toBe('AGENT_NOT_REGISTERED');
  });

  it('refuses WebSocket calls and the inbox subscription', async () => {
    const agent = await usedThenForgotten();
    const { socket, client } = wsClient(relay.url, () => authHeader(relay.relayId, agent, 'ws'));
    try {
      expect(await rejection(client.stats.query())).toMatchObject({
        code: 'UNAUTHORIZED',
        reason: 'AGENT_NOT_REGISTERED',
      });
      const received: unknown[] = [];
      const error = await new Promise<unknown>((resolve) => {
        client.inbox.subscribe(
          {},
          {
            onError: resolve,
            onData: (event) => {
              received.push(event);
            },
          },
        );
      });
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<never>).data).toMatchObject({
        reason: 'AGENT_NOT_REGISTERED',
      });
      expect(received).toEqual([]);
    } finally {
      await socket.close();
    }
  });

  it('serves the mailbox again once the same identity registers again', async () => {
    const agent = await usedThenForgotten();
    await register(relay.url, relay.relayId, agent);
    const stats = mailboxClient(relay.url, relay.relayId, agent, 'stats');
    await expect(stats.stats.query()).resolves.toMatchObject({ agentId: agent.agentId });
    await expect(
      rawClient(relay.url).send.mutate({ to: agent.agentId, ciphertext: seal(sender, agent) }),
    ).resolves.toMatchObject({ duplicate: false });
  });

  it('judges proofs by the key the store holds, not the one the relay cached', async () => {
    const agent = makeAgent(`rotated-${counter++}`);
    const agentKey = (await register(relay.url, relay.relayId, agent)).agentKey;
    const statsOf = (who: TestAgent) =>
      mailboxClient(relay.url, relay.relayId, who, 'stats').stats.query();
    await statsOf(agent);
    // The store now holds another key for the id (as a rotation through another relay process
    // would leave it) while this relay caches the old one: the new key's proof passes, the old
    // key's does not.
    const successor = makeAgent(agent.agentId);
    const successorKey = signRegistration({
      relayId: relay.relayId,
      agentId: agent.agentId,
      keys: successor.keys,
    }).agentKey;
    await setKeyBehindTheRelay(kind, relay, agent.agentId, successorKey);
    await expect(statsOf(successor)).resolves.toMatchObject({ agentId: agent.agentId });
    expect(await rejection(statsOf(agent))).toMatchObject({
      status: 401,
      reason: 'AUTH_BAD_SIGNATURE',
    });

    // Back to the first key while the relay caches the successor's: the successor's proof still
    // verifies against the cache, and the store's answer to its nonce (key-changed) refuses it.
    await setKeyBehindTheRelay(kind, relay, agent.agentId, agentKey);
    expect(await rejection(statsOf(successor))).toMatchObject({
      status: 401,
      reason: 'AUTH_BAD_SIGNATURE',
    });
    await expect(statsOf(agent)).resolves.toMatchObject({ agentId: agent.agentId });
  });
});
