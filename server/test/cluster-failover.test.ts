// A Redis Cluster master SIGKILLed under a stream of sends (PROTOCOL §4, durability with replicas):
// 3 masters with a replica each, two relay processes that acknowledge a send only once a replica
// has it (REDIS_WAIT_REPLICAS=1). While the master is away its sends fail with 503; no request
// hangs past its bound; after the failover the relays serve the cluster again without a restart,
// live subscribers are woken again, and every acknowledged send is stored exactly once.
// The promoted replica has no replica of its own (one per master, no replica migration), so WAIT
// cannot be met there: its mailboxes store but keep refusing, promptly, with 503.
// @module-tag slow (a Redis Cluster): npm test only, not npm run test:fast
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealMessage, type StoredMessage } from '@deaddrop/contract';
import { startRedisCluster, type RedisClusterHandle } from '@deaddrop/test-support/redis-cluster';
import { withNode } from '@deaddrop/test-support/redis-cluster-node';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { agentsOnEveryMaster } from './support/cluster-mailboxes.js';
import { followInbox, type InboxFollower } from './support/inbox-follower.js';
import { eventually } from './support/live-clients.js';
import {
  makeAgent,
  mailboxClient,
  rawClient,
  register,
  type TestAgent,
} from './support/relay-harness.js';
import {
  attemptTimeline,
  classifyFailure,
  failuresByLabel,
  type Attempt,
} from './support/send-attempts.js';

const RELAY_ID = 'cluster-failover-test';
const RUN = `${String(process.pid)}-${randomBytes(3).toString('hex')}`;
const PREFIX = `cf-${RUN}:`;
const WAIT_TIMEOUT_MS = 500;
const MAILBOXES_PER_MASTER = 3;
/** Tries of one send, all with its idempotency key, as a client retries a 503. */
const TRIES = 3;
/** No request may take longer: it is aborted, and counts as hung. */
const REQUEST_BOUND_MS = 8_000;
const ACKS_BEFORE_KILL = 60;
const ACKS_AFTER_FAILOVER = 60;
/** Sends to the killed master's mailboxes started well after the failover, to judge them by. */
const LATE_SENDS = 10;
const PHASE_BOUND_MS = 20_000;
/** Far below the live catch-up read (60–120 s): a follower that gets mail this fast was woken. */
const LIVE_DELIVERY_MS = 10_000;
/** A send to the promoted master is refused once WAIT times out: this much slack for load. */
const WAIT_REFUSAL_MS = WAIT_TIMEOUT_MS + 1_500;

function pick<T>(items: readonly T[], index: number): T {
  const item = items[index % items.length];
  if (item === undefined) throw new Error(`nothing at ${String(index)}`);
  return item;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every message of `agent`'s mailbox, read through `relay` page by page from the start. */
async function storedMessages(relay: SpawnedRelay, agent: TestAgent): Promise<StoredMessage[]> {
  const client = mailboxClient(relay.url, RELAY_ID, agent, 'poll');
  const stored: StoredMessage[] = [];
  let after = '0-0';
  for (;;) {
    const page = await client.poll.query({ after, limit: 100 });
    stored.push(...page.messages);
    if (page.messages.length < 100) return stored;
    after = page.cursor;
  }
}

/** The master each agent's mailbox is on, read from the masters themselves. */
async function mastersOf(cluster: RedisClusterHandle): Promise<Map<string, number>> {
  const owners = new Map<string, number>();
  for (const master of await cluster.masters()) {
    const keys = await withNode(master.port, (redis) => redis.keys(`${PREFIX}dd:{*}:agent`));
    for (const key of keys) {
      owners.set(key.slice(`${PREFIX}dd:{`.length, -'}:agent'.length), master.port);
    }
  }
  return owners;
}

/**
 * Sends into each mailbox, one at a time, through its relay (one sender per mailbox: a mailbox
 * that keeps failing slows only itself); each send is tried up to TRIES times with its key.
 */
class SendStream {
  readonly attempts: Attempt[] = [];
  /** The id each acknowledged send got. */
  readonly acked = new Map<number, string>();
  /** Sends acknowledged twice under different ids: idempotency broken. */
  readonly reacknowledged: string[] = [];
  /** Which send each ciphertext is, and which mailbox each send went to. */
  readonly sendOf = new Map<string, { readonly n: number; readonly mailbox: number }>();
  readonly mailboxOf = new Map<number, number>();
  private next = 0;
  private stopped = false;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sender: TestAgent,
    private readonly agents: readonly TestAgent[],
    private readonly relayFor: (mailbox: number) => SpawnedRelay,
  ) {}

  get started(): number {
    return this.next;
  }

  start(): void {
    this.running = Promise.all(this.agents.map((_, mailbox) => this.sendInto(mailbox)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Acknowledged attempts started at or after `since` into mailboxes `where` accepts. */
  ackedSince(since: number, where: (mailbox: number) => boolean = () => true): number {
    return this.attempts.filter(
      (a) => a.kind === 'acked' && a.startedAt >= since && where(a.mailbox),
    ).length;
  }

  /** One send into `mailbox`, tried once; resolves with its number. */
  async sendOne(mailbox: number): Promise<number> {
    const n = this.next++;
    await this.attempt(n, mailbox, this.input(n, mailbox));
    return n;
  }

  /** A call, not a field read: TypeScript would keep the loop condition's narrowing. */
  private isStopped(): boolean {
    return this.stopped;
  }

  private async sendInto(mailbox: number): Promise<void> {
    while (!this.isStopped()) {
      const n = this.next++;
      const input = this.input(n, mailbox);
      for (let tri = 1; tri <= TRIES && !this.isStopped(); tri++) {
        if (await this.attempt(n, mailbox, input)) break;
        await sleep(100 * tri);
      }
    }
  }

  private input(n: number, mailbox: number) {
    const agent = pick(this.agents, mailbox);
    const { ciphertext } = sealMessage({
      from: this.sender.agentId,
      sender: this.sender.keys,
      to: agent.agentId,
      recipient: agent.keys,
      body: n,
    });
    this.sendOf.set(ciphertext, { n, mailbox });
    this.mailboxOf.set(n, mailbox);
    return {
      to: agent.agentId,
      ciphertext,
      idempotencyKey: `failover-${RUN}-${String(n).padStart(6, '0')}`,
    };
  }

  private async attempt(
    n: number,
    mailbox: number,
    input: { to: string; ciphertext: string; idempotencyKey: string },
  ): Promise<boolean> {
    const startedAt = Date.now();
    try {
      const { id, duplicate } = await rawClient(this.relayFor(mailbox).url).send.mutate(input, {
        signal: AbortSignal.timeout(REQUEST_BOUND_MS),
      });
      const ms = Date.now() - startedAt;
      this.attempts.push({ n, mailbox, startedAt, ms, kind: 'acked', id, duplicate });
      const earlier = this.acked.get(n);
      if (earlier !== undefined && earlier !== id) {
        this.reacknowledged.push(`${String(n)}: ${earlier}, then ${id}`);
      }
      this.acked.set(n, id);
      return true;
    } catch (error) {
      const ms = Date.now() - startedAt;
      this.attempts.push({ n, mailbox, startedAt, ms, ...classifyFailure(error) });
      return false;
    }
  }
}

describe('a Redis Cluster master SIGKILLed under sends that wait for a replica', () => {
  it(
    'fails sends fast while it is away, recovers by itself, loses nothing acknowledged',
    { timeout: 90_000 },
    async () => {
      const cluster = await startRedisCluster({
        masters: 3,
        replicasPerMaster: 1,
        appendonly: false,
      });
      const relays: SpawnedRelay[] = [];
      const followers: InboxFollower[] = [];
      try {
        const started = await Promise.allSettled(
          [0, 1].map(() =>
            spawnRelay({
              REDIS_CLUSTER_NODES: cluster.seeds,
              REDIS_KEY_PREFIX: PREFIX,
              DEADDROP_RELAY_ID: RELAY_ID,
              REDIS_WAIT_REPLICAS: '1',
              REDIS_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS),
            }),
          ),
        );
        for (const result of started) {
          if (result.status === 'fulfilled') relays.push(result.value);
          else throw result.reason;
        }
        // Each mailbox is sent to through one relay and followed live through the other, so its
        // follower hears of new mail only through the cluster's sharded pub/sub.
        const relayFor = (mailbox: number): SpawnedRelay => pick(relays, mailbox);
        const watcherFor = (mailbox: number): SpawnedRelay => pick(relays, mailbox + 1);

        // Three mailboxes on each master, in turn: 0, 3 and 6 are on the master to be killed.
        const planned = await agentsOnEveryMaster(
          cluster,
          MAILBOXES_PER_MASTER,
          (k) => `m${String(k)}-${RUN}`,
        );
        const agents = planned.map(({ agentId }) => makeAgent(agentId));
        const sender = makeAgent(`sender-${RUN}`);
        await register(relayFor(0).url, RELAY_ID, sender);
        await Promise.all(agents.map((agent, i) => register(relayFor(i).url, RELAY_ID, agent)));
        const owners = await mastersOf(cluster);
        expect(agents.map((agent) => owners.get(agent.agentId))).toEqual(
          planned.map(({ port }) => port),
        );
        const victimPort = pick(planned, 0).port;
        const onVictim = new Set(
          planned.flatMap(({ port }, i) => (port === victimPort ? [i] : [])),
        );
        const elsewhere = (mailbox: number): boolean => !onVictim.has(mailbox);

        let killedAt = 0;
        let failedOverAt = 0;
        followers.push(
          ...agents.map((agent, i) =>
            followInbox(watcherFor(i).url, RELAY_ID, agent, () => killedAt),
          ),
        );

        const sends = new SendStream(sender, agents, relayFor);
        const lateOnVictim = (): Attempt[] =>
          sends.attempts.filter(
            (a) => a.startedAt >= failedOverAt + 1_000 && onVictim.has(a.mailbox),
          );
        sends.start();
        try {
          await eventually(
            () => sends.ackedSince(0) >= ACKS_BEFORE_KILL,
            PHASE_BOUND_MS,
            'sends before the kill',
          );
          killedAt = Date.now();
          await cluster.kill(victimPort);
          await cluster.waitForFailover(victimPort);
          failedOverAt = Date.now();
          await eventually(
            () =>
              sends.ackedSince(failedOverAt, elsewhere) >= ACKS_AFTER_FAILOVER &&
              lateOnVictim().length >= LATE_SENDS,
            PHASE_BOUND_MS,
            'sends after the failover',
          );
        } catch (error) {
          const tails = relays.map((relay) => relay.output().slice(-3_000)).join('\n----\n');
          throw new Error(
            `${String(error)}\n${failuresByLabel(sends.attempts)}\n` +
              `${attemptTimeline(sends.attempts, killedAt, onVictim)}\n${tails}`,
          );
        } finally {
          await sends.stop();
        }
        // One more send into every mailbox: its follower must get it long before the live
        // catch-up read (a minute or more) could cover for a lost notification.
        const probedAt = Date.now();
        const probes = await Promise.all(agents.map((_, mailbox) => sends.sendOne(mailbox)));

        const { attempts } = sends;
        const slowest = Math.max(...attempts.map((a) => a.ms));
        const restarts = followers.reduce((sum, follower) => sum + follower.restarts(), 0);
        console.info(
          `cluster failover: ${String(sends.acked.size)} of ${String(sends.started)} sends acknowledged ` +
            `(${String(attempts.length)} attempts, slowest ${String(slowest)} ms), failed: ` +
            `${failuresByLabel(attempts)}; failover ${String(failedOverAt - killedAt)} ms ` +
            `(SIGKILL → cluster settled); ${String(onVictim.size)} of ${String(agents.length)} ` +
            `mailboxes on the killed master; ${String(restarts)} live subscription restarts`,
        );

        // Every failure is the relay's 503 or the connection's, and nothing hung past its bound.
        expect(sends.reacknowledged).toEqual([]);
        expect(attempts.filter((a) => a.kind === 'other')).toEqual([]);
        expect(
          attempts.filter(
            (a) => a.kind === 'refused' && (a.status !== 503 || a.reason !== 'STORE_UNAVAILABLE'),
          ),
        ).toEqual([]);
        expect(slowest).toBeLessThan(REQUEST_BOUND_MS);
        // The kill landed mid-stream: sends into its mailboxes failed while it was away.
        expect(
          attempts.filter(
            (a) =>
              onVictim.has(a.mailbox) &&
              a.startedAt >= killedAt &&
              a.startedAt < failedOverAt &&
              a.kind === 'refused',
          ).length,
        ).toBeGreaterThan(0);
        // The relays never restarted, and serve the other masters' mailboxes after the failover…
        for (const relay of relays) {
          expect(relay.child.exitCode ?? relay.child.signalCode).toBeNull();
        }
        expect(sends.ackedSince(failedOverAt, elsewhere)).toBeGreaterThanOrEqual(
          ACKS_AFTER_FAILOVER,
        );
        expect(
          attempts.filter(
            (a) => a.startedAt >= probedAt && elsewhere(a.mailbox) && a.kind !== 'acked',
          ),
        ).toEqual([]);
        // …while the promoted master, with no replica, refuses at once: WAIT ran on its connection.
        expect(lateOnVictim().length).toBeGreaterThanOrEqual(LATE_SENDS + onVictim.size);
        expect(
          lateOnVictim().filter((a) => a.kind !== 'refused' || a.ms > WAIT_REFUSAL_MS),
        ).toEqual([]);

        for (const [i, agent] of agents.entries()) {
          // Read after the failover: every acknowledged send exactly once, under the id it was
          // acknowledged with, and nothing that was never sent.
          const stored = await storedMessages(relayFor(i + 1), agent);
          const storedSends = stored.map((message) => sends.sendOf.get(message.ciphertext));
          expect(storedSends.filter((send) => send?.mailbox !== i)).toEqual([]);
          expect(new Set(storedSends.map((send) => send?.n)).size).toBe(stored.length);
          const storedIdOf = new Map(stored.map((message, k) => [storedSends[k]?.n, message.id]));
          const lost = [...sends.acked].filter(
            ([n, id]) => sends.mailboxOf.get(n) === i && storedIdOf.get(n) !== id,
          );
          expect(lost).toEqual([]);

          // Live: the follower on the other relay got exactly what is stored (the probe too, stored
          // even where WAIT then failed), in order, once.
          expect(storedSends.at(-1)?.n).toBe(probes[i]);
          const follower = pick(followers, i);
          await eventually(
            () => follower.ids().length >= stored.length,
            Math.max(0, probedAt + LIVE_DELIVERY_MS - Date.now()),
            `live delivery to mailbox ${String(i)}`,
          ).catch((error: unknown) => {
            throw new Error(
              `${String(error)}: ${String(follower.ids().length)} of ${String(stored.length)} ` +
                `(failover at ${String(failedOverAt - killedAt)} ms, probe at ` +
                `${String(probedAt - killedAt)} ms); ${follower.events().join('; ')}`,
            );
          });
          expect(follower.ids()).toEqual(stored.map((message) => message.id));
        }
      } finally {
        for (const follower of followers) follower.close();
        await Promise.all(relays.map((relay) => relay.stop()));
        await cluster.stop();
      }
    },
  );
});
