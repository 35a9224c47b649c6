// Three relay processes on one 3-master Redis Cluster (PROTOCOL §3–4): they act as one relay.
// Mailboxes on every master; a message sent through one process is polled through another and
// delivered live (SSE) by a third; a live subscriber moved between processes resumes from its
// cursor with no gap and no duplicate; idempotency keys, proof nonces and the per-mailbox rate
// limit are shared through the cluster, so a process cannot be used to get around another.
// @module-tag slow (a Redis Cluster): npm test only, not npm run test:fast
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '@deaddrop/test-support/redis-cluster';
import { withNode } from '@deaddrop/test-support/redis-cluster-node';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { compareMessageIds } from '../src/store/mailbox-store.js';
import { agentsOnEveryMaster } from './support/cluster-mailboxes.js';
import { eventually, subscribeInbox, type LiveSubscription } from './support/live-clients.js';
import {
  authHeader,
  makeAgent,
  mailboxClient,
  rawClient,
  register,
  rejection,
  seal,
  type TestAgent,
} from './support/relay-harness.js';

const RELAY_ID = 'cluster-relays-test';
const RUN = `${String(process.pid)}-${randomBytes(3).toString('hex')}`;
const DELIVERY_MS = 10_000;

let cluster: RedisClusterHandle;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, appendonly: false });
}, 60_000);

afterAll(async () => {
  await cluster.stop();
});

/** Three relay processes on the cluster under one key prefix; stopped after the describe. */
function relayTrio(env: Record<string, string>): {
  readonly relays: () => SpawnedRelay[];
  readonly prefix: string;
} {
  const prefix = `cr-${RUN}-${randomBytes(2).toString('hex')}:`;
  let relays: SpawnedRelay[] = [];
  beforeAll(async () => {
    const started = await Promise.allSettled(
      [0, 1, 2].map(() =>
        spawnRelay({ REDIS_CLUSTER_NODES: cluster.seeds, REDIS_KEY_PREFIX: prefix, ...env }),
      ),
    );
    relays = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }, 60_000);
  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
  });
  return { relays: () => relays, prefix };
}

function at(relays: readonly SpawnedRelay[], index: number): SpawnedRelay {
  const relay = relays[index % relays.length];
  if (relay === undefined) throw new Error(`no relay ${String(index)}`);
  return relay;
}

async function send(
  relay: SpawnedRelay,
  to: TestAgent,
  ciphertext: string,
  idempotencyKey?: string,
): Promise<{ id: string; duplicate: boolean }> {
  return rawClient(relay.url).send.mutate(
    { to: to.agentId, ciphertext, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) },
    { signal: AbortSignal.timeout(5_000) },
  );
}

/** Every stored id of `agent`'s mailbox, read through `relay` page by page from the start. */
async function storedIds(relay: SpawnedRelay, agent: TestAgent): Promise<string[]> {
  const client = mailboxClient(relay.url, RELAY_ID, agent, 'poll');
  const ids: string[] = [];
  let after = '0-0';
  for (;;) {
    const page = await client.poll.query({ after, limit: 100 });
    ids.push(...page.messages.map((message) => message.id));
    if (page.messages.length < 100) return ids;
    after = page.cursor;
  }
}

/** The agent ids whose directory record lives on each master now, read from the masters. */
async function agentsByMaster(prefix: string): Promise<string[][]> {
  const masters = await cluster.masters();
  return Promise.all(
    masters.map((master) =>
      withNode(master.port, async (redis) =>
        (await redis.keys(`${prefix}dd:{*}:agent`)).map((key) =>
          key.slice(`${prefix}dd:{`.length, -'}:agent'.length),
        ),
      ),
    ),
  );
}

function sortedIds(ids: Iterable<string>): string[] {
  return [...ids].sort(compareMessageIds);
}

describe('three relay processes on a Redis Cluster', () => {
  const trio = relayTrio({ DEADDROP_RELAY_ID: RELAY_ID });
  const alice = makeAgent(`alice-${RUN}`);

  beforeAll(async () => {
    await register(at(trio.relays(), 0).url, RELAY_ID, alice);
  });

  it('answer as one relay', async () => {
    const infos = await Promise.all(
      trio.relays().map((relay) => rawClient(relay.url).info.query()),
    );
    expect(infos.map((info) => info.relayId)).toEqual([RELAY_ID, RELAY_ID, RELAY_ID]);
  });

  it(
    'register, send, poll and deliver live through different processes, on every master',
    { timeout: 40_000 },
    async () => {
      const relays = trio.relays();
      // Three recipients on each master.
      const recipients = (await agentsOnEveryMaster(cluster, 3, (k) => `r${String(k)}-${RUN}`)).map(
        ({ agentId }) => makeAgent(agentId),
      );
      // Registered through process p, sent to through p + 1, polled through p + 2, and followed
      // live through p (neither the sender's process nor the poller's), with p such that each
      // master sees each process in each role.
      const p = (i: number): number => i + Math.floor(i / 3);
      await Promise.all(
        recipients.map((agent, i) => register(at(relays, p(i)).url, RELAY_ID, agent)),
      );
      const onMasters = await agentsByMaster(trio.prefix);
      for (const agents of onMasters) {
        expect(recipients.filter((agent) => agents.includes(agent.agentId))).toHaveLength(3);
      }
      for (const [i, agent] of recipients.entries()) {
        const lookedUp = await rawClient(at(relays, p(i) + 2).url).directory.lookup.query({
          agentId: agent.agentId,
        });
        expect(lookedUp.agentKey).toBe(agent.keys.agentKey);
      }

      const live = recipients.map((agent, i) =>
        subscribeInbox('sse', at(relays, p(i)).url, RELAY_ID, agent),
      );
      try {
        // A first message each, through the sender's process, proves every subscription started.
        const sent = new Map<string, string[]>(recipients.map((agent) => [agent.agentId, []]));
        const sendRound = async (round: number): Promise<void> => {
          await Promise.all(
            recipients.map(async (agent, i) => {
              const { id } = await send(at(relays, p(i) + 1), agent, seal(alice, agent, round));
              sent.get(agent.agentId)?.push(id);
            }),
          );
        };
        await sendRound(0);
        await eventually(
          () => live.every((subscription) => subscription.received.length >= 1),
          DELIVERY_MS,
          'the first message on every subscription',
        );
        // The rest reach subscriptions that are live: through the notification across processes.
        for (let round = 1; round <= 3; round++) await sendRound(round);
        await eventually(
          () => live.every((subscription) => subscription.received.length >= 4),
          DELIVERY_MS,
          'live delivery through another process',
        );

        for (const [i, agent] of recipients.entries()) {
          const ids = sent.get(agent.agentId) ?? [];
          expect(ids).toHaveLength(4);
          expect(await storedIds(at(relays, p(i) + 2), agent)).toEqual(ids);
          expect(live[i]?.received.map((received) => received.id)).toEqual(ids);
          expect(live[i]?.errors).toEqual([]);
        }
      } finally {
        await Promise.all(live.map((subscription) => subscription.close()));
      }
    },
  );

  it(
    'moves a live subscriber between processes with no gap and no duplicate while sends go on',
    { timeout: 40_000 },
    async () => {
      const relays = trio.relays();
      const bob = makeAgent(`bob-${RUN}`);
      await register(at(relays, 1).url, RELAY_ID, bob);

      const acked: string[] = [];
      let stop = false;
      // One sender per process, each with one send in flight.
      const senders = relays.map(async (relay, lane) => {
        for (let n = 0; !stop && n < 200; n++) {
          const { id } = await send(relay, bob, seal(alice, bob, `${String(lane)}/${String(n)}`));
          acked.push(id);
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
      });

      const subscriptions: LiveSubscription[] = [];
      const received = (): string[] =>
        subscriptions.flatMap((subscription) => subscription.received.map((entry) => entry.id));
      try {
        // On process 0, then 1, then 2, then 0 again; each move after a few more messages.
        for (const hop of [0, 1, 2, 0]) {
          const cursor = received().at(-1);
          subscriptions.at(-1)?.unsubscribe();
          subscriptions.push(
            subscribeInbox(
              'sse',
              at(relays, hop).url,
              RELAY_ID,
              bob,
              cursor === undefined ? {} : { after: cursor },
            ),
          );
          const target = received().length + 15;
          await eventually(
            () => received().length >= target,
            DELIVERY_MS,
            `15 messages on process ${String(hop)}`,
          );
        }
        stop = true;
        await Promise.all(senders);
        await eventually(
          () => received().length >= acked.length,
          DELIVERY_MS,
          'every acknowledged message',
        );
      } finally {
        stop = true;
        await Promise.all(subscriptions.map((subscription) => subscription.close()));
      }
      await Promise.all(senders);

      expect(acked.length).toBeGreaterThanOrEqual(60);
      expect(new Set(acked).size).toBe(acked.length);
      // Received in id order across the moves, exactly what was acknowledged, nothing twice.
      expect(received()).toEqual(sortedIds(acked));
      expect(await storedIds(at(relays, 2), bob)).toEqual(sortedIds(acked));
      for (const subscription of subscriptions) expect(subscription.errors).toEqual([]);
    },
  );

  it('keeps idempotency keys across processes', async () => {
    const relays = trio.relays();
    const carol = makeAgent(`carol-${RUN}`);
    await register(at(relays, 2).url, RELAY_ID, carol);
    const key = `cluster-relays-${randomBytes(12).toString('hex')}`;
    const ciphertext = seal(alice, carol, 'once');

    const first = await send(at(relays, 0), carol, ciphertext, key);
    expect(first.duplicate).toBe(false);
    const again = await send(at(relays, 1), carol, ciphertext, key);
    expect(again).toMatchObject({ id: first.id, duplicate: true });
    const conflict = await rejection(send(at(relays, 2), carol, seal(alice, carol, 'other'), key));
    expect(conflict).toMatchObject({
      code: 'CONFLICT',
      reason: 'IDEMPOTENCY_CONFLICT',
      status: 409,
    });
    expect(await storedIds(at(relays, 2), carol)).toEqual([first.id]);
  });

  it('refuses on one process a proof nonce used on another', async () => {
    const relays = trio.relays();
    const dave = makeAgent(`dave-${RUN}`);
    await register(at(relays, 0).url, RELAY_ID, dave);
    const proof = authHeader(RELAY_ID, dave, 'poll', {
      nonce: randomBytes(16).toString('base64url'),
    });
    const withProof = (relay: SpawnedRelay) => rawClient(relay.url, () => proof);

    expect((await withProof(at(relays, 0)).poll.query({})).messages).toEqual([]);
    for (const relay of [at(relays, 1), at(relays, 2), at(relays, 0)]) {
      expect(await rejection(withProof(relay).poll.query({}))).toMatchObject({
        code: 'UNAUTHORIZED',
        reason: 'AUTH_REPLAYED',
        status: 401,
      });
    }
  });
});

describe('three relay processes on a Redis Cluster with a mailbox rate limit', () => {
  const LIMIT = 5;
  // No DEADDROP_RELAY_ID: the three agree on the one the first of them stored in the cluster.
  const trio = relayTrio({ RATE_MAILBOX_MESSAGES_PER_MINUTE: String(LIMIT) });

  it('share the relay id kept in the cluster', async () => {
    const ids = await Promise.all(
      trio.relays().map(async (relay) => (await rawClient(relay.url).info.query()).relayId),
    );
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toMatch(/^relay-/);
  });

  it('spend one mailbox budget: the sixth send, whichever process takes it, is refused', async () => {
    const relays = trio.relays();
    const relayId = (await rawClient(at(relays, 0).url).info.query()).relayId;
    const sender = makeAgent(`sender-${RUN}`);
    const erin = makeAgent(`erin-${RUN}`);
    const frank = makeAgent(`frank-${RUN}`);
    await register(at(relays, 0).url, relayId, erin);
    await register(at(relays, 1).url, relayId, frank);

    for (let n = 0; n < LIMIT; n++) {
      const { duplicate } = await send(at(relays, n), erin, seal(sender, erin, n));
      expect(duplicate).toBe(false);
    }
    for (const relay of relays) {
      const refused = await rejection(send(relay, erin, seal(sender, erin, 'one too many')));
      expect(refused).toMatchObject({
        code: 'TOO_MANY_REQUESTS',
        reason: 'RATE_LIMITED',
        status: 429,
      });
      expect(refused.message).toContain(`${String(LIMIT)} messages a minute into one mailbox`);
    }
    // Another mailbox has its own budget.
    await expect(send(at(relays, 2), frank, seal(sender, frank, 'hello'))).resolves.toMatchObject({
      duplicate: false,
    });
  });
});
