// MailboxStore on Redis Streams (PROTOCOL §4): every atomic step is one Lua script (scripts.ts),
// every key comes from keys.ts, wake-ups share one subscriber connection (notify-subscriber.ts).
import { MESSAGE_ID_PATTERN, type AgentRecord, type StoredMessage } from '@deaddrop/contract';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { costWithin, isUnlimited, UNLIMITED, type BucketRate } from '../../limits/token-bucket.js';
import {
  StoreUnavailableError,
  type AppendInput,
  type AppendRate,
  type AppendOutcome,
  type FreshMessage,
  type MailboxCounts,
  type MailboxStore,
  type RegisterOutcome,
  type StoreOptions,
  type WakeListener,
} from '../mailbox-store.js';
import { assertValidStoreOptions } from '../store-options.js';
import {
  INBOX_KEY_PATTERN,
  RELAY_ID_KEY,
  addressBucketKey,
  agentIdFromInboxKey,
  assertValidKeyPrefix,
  mailboxKeys,
} from './keys.js';
import { NotifySubscriber } from './notify-subscriber.js';
import { classicPubSub, shardedPubSub } from './pubsub-connection.js';
import { boundOfflineQueue } from './offline-queue-bound.js';
import { parseAppendReply, parseCountsReply, parseEntries, parseRegisterReply } from './replies.js';
import { defineMailboxScripts, type MailboxScripts } from './scripts.js';
import { redisCall, toStoreError } from './unavailable.js';

/**
 * A request must fail (→ 503) rather than hang while Redis is away: a command is given one
 * reconnection attempt (`maxRetriesPerRequest`) and 2 s in all (`commandTimeout`, which also
 * bounds how long its caller waits in the offline queue). The offline queue stays on so commands
 * issued during a blip are sent once the connection is back, but only for a short grace after the
 * connection was lost (`connect` applies boundOfflineQueue: ioredis puts no limit on the queue);
 * then commands are refused at once. Reconnection goes on in the background. A command that timed
 * out may still run later: appends are idempotent, so a retry is safe.
 */
export const FAIL_FAST_REDIS_OPTIONS = {
  maxRetriesPerRequest: 1,
  commandTimeout: 2_000,
  connectTimeout: 2_000,
  enableOfflineQueue: true,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
} satisfies RedisOptions;

const NO_APPEND_RATE: AppendRate = { source: '', mailbox: UNLIMITED, sender: UNLIMITED };

const SCAN_BATCH = 500;
/** Trim scripts the sweep keeps in flight at once. */
const SWEEP_CONCURRENCY = 8;

export interface RedisStoreConfig extends StoreOptions {
  /** Prepended to every key and channel (ioredis `keyPrefix`), e.g. to isolate a test run. */
  readonly keyPrefix?: string;
  /** Replicas a send waits for before it is acknowledged (0: none). */
  readonly wait?: ReplicaWait;
}

export interface ReplicaWait {
  readonly replicas: number;
  readonly timeoutMs: number;
}

export interface ClusterSeed {
  readonly host: string;
  readonly port: number;
}

/** A single Redis or a Redis Cluster: the store uses what both offer. */
export type RedisConnection = Redis | Cluster;

/**
 * The cluster client for shard channel subscriptions: a duplicate without a command timeout. A
 * timeout only rejects the caller's promise: ioredis goes on retrying a command for a master that
 * is down until a replica has taken over, so an SUNSUBSCRIBE that "timed out" could still reach the
 * new master after a later SSUBSCRIBE of the same channel, and cancel it. Without one, SUNSUBSCRIBE
 * settles when ioredis is done with it, and NotifySubscriber sends the next SSUBSCRIBE after that.
 */
function shardSubscriberCluster(client: Cluster): Cluster {
  // Set, not left out: duplicate() merges these over the client's own redisOptions.
  return client.duplicate(undefined, {
    shardedSubscribers: true,
    redisOptions: { commandTimeout: undefined },
  });
}

export class RedisMailboxStore implements MailboxStore {
  readonly kind = 'redis';
  private readonly client: RedisConnection & MailboxScripts;
  private readonly keyPrefix: string;
  private readonly ttlMs: number;
  private readonly notifications: NotifySubscriber;

  /** Opens a client with the fail-fast options; the store owns it and closes it. */
  static connect(url: string, config: RedisStoreConfig): RedisMailboxStore {
    const keyPrefix = config.keyPrefix ?? '';
    assertValidKeyPrefix(keyPrefix);
    const client = new Redis(url, { ...FAIL_FAST_REDIS_OPTIONS, keyPrefix });
    // Failures reach callers as rejected commands; without a listener ioredis would log each one.
    client.on('error', () => undefined);
    boundOfflineQueue(client);
    return new RedisMailboxStore(client, config, { ownsClient: true });
  }

  /**
   * Opens a Redis Cluster client from a few seed nodes (the rest are discovered), with sharded
   * pub/sub for notifications; the store owns it and closes it.
   */
  static connectCluster(
    seeds: readonly ClusterSeed[],
    config: RedisStoreConfig,
  ): RedisMailboxStore {
    const keyPrefix = config.keyPrefix ?? '';
    assertValidKeyPrefix(keyPrefix);
    const { retryStrategy, enableOfflineQueue, ...perNode } = FAIL_FAST_REDIS_OPTIONS;
    const cluster = new Cluster(
      seeds.map(({ host, port }) => ({ host, port })),
      {
        // At the top level: under redisOptions, ioredis 6 resubscribes shard channels after a
        // failover with the prefix twice.
        keyPrefix,
        redisOptions: perNode,
        enableOfflineQueue,
        clusterRetryStrategy: retryStrategy,
        // A failover moves slots: follow MOVED at once and retry briefly while a replica takes over.
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        shardedSubscribers: true,
      },
    );
    cluster.on('error', () => undefined);
    cluster.on('node error', () => undefined);
    boundOfflineQueue(cluster);
    return new RedisMailboxStore(cluster, config, { ownsClient: true });
  }

  /**
   * Uses `client` with its own options; its `keyPrefix` applies to every key and channel. Only a
   * store made by `connect` closes its client. The wake-up subscriber is a duplicate of `client`.
   */
  constructor(
    client: RedisConnection,
    private readonly options: RedisStoreConfig,
    private readonly ownership: { readonly ownsClient: boolean } = { ownsClient: false },
  ) {
    assertValidStoreOptions(options);
    this.keyPrefix =
      (client instanceof Cluster ? client.options.keyPrefix : client.options.keyPrefix) ?? '';
    assertValidKeyPrefix(this.keyPrefix);
    this.client = defineMailboxScripts(client);
    this.ttlMs = options.ttlSeconds * 1000;
    // NotifySubscriber resubscribes itself after a reconnect, to wake its watchers as it does.
    this.notifications = new NotifySubscriber(() =>
      client instanceof Cluster
        ? shardedPubSub(shardSubscriberCluster(client), this.keyPrefix)
        : classicPubSub(client.duplicate({ autoResubscribe: false })),
    );
  }

  async ensureRelayId(candidate: string): Promise<string> {
    const set = await redisCall(this.client.set(RELAY_ID_KEY, candidate, 'NX'));
    if (set === 'OK') return candidate;
    // Never deleted once set, so it is there when SET NX refused.
    const stored = await redisCall(this.client.get(RELAY_ID_KEY));
    if (stored === null) throw new Error('relay id missing right after SET NX refused');
    return stored;
  }

  async register(record: AgentRecord): Promise<RegisterOutcome> {
    const keys = mailboxKeys(record.agentId);
    const reply = await redisCall(
      this.client.ddRegister(keys.agent, record.agentKey, record.registeredAt),
    );
    return parseRegisterReply(reply, record.agentId);
  }

  async lookup(agentId: string): Promise<AgentRecord | null> {
    const [agentKey, registeredAt] = await redisCall(
      this.client.hmget(mailboxKeys(agentId).agent, 'key', 'registeredAt'),
    );
    if (agentKey == null || registeredAt == null) return null;
    return { agentId, agentKey, registeredAt: Number(registeredAt) };
  }

  async append(input: AppendInput): Promise<AppendOutcome> {
    const keys = mailboxKeys(input.agentId);
    const rate = input.rate ?? NO_APPEND_RATE;
    const appended = this.notifications.appendStarted(this.keyPrefix + keys.notify);
    let fresh: FreshMessage | undefined;
    try {
      const reply = await redisCall(
        this.client.ddAppend(
          keys.inbox,
          keys.agent,
          keys.idempotency(input.idempotencyKey),
          keys.notify,
          keys.rate,
          keys.senderRate(rate.source),
          input.ciphertext,
          input.bytes,
          input.ciphertextHash,
          this.ttlMs,
          this.options.maxMessages,
          rate.mailbox.capacity,
          rate.mailbox.perMs,
          rate.sender.capacity,
          rate.sender.perMs,
          this.client instanceof Cluster ? '1' : '0',
        ),
      );
      const { outcome, after } = parseAppendReply(reply, this.options.ttlSeconds);
      if (outcome.status === 'stored' && after !== undefined) {
        const { id, receivedAt, expiresAt } = outcome;
        fresh = { after, message: { id, ciphertext: input.ciphertext, receivedAt, expiresAt } };
      }
      if (outcome.status === 'stored' || outcome.status === 'duplicate')
        await this.confirmReplicas(keys.inbox);
      return outcome;
    } finally {
      appended(fresh);
    }
  }

  /**
   * With `wait` configured, a stored message is acknowledged only once `replicas` replicas of its
   * master have it (WAIT, after the script: Redis refuses WAIT inside one), else the send fails
   * with 503 and the client retries it with its idempotency key. WAIT counts the writes made on
   * this connection to that master, so it is sent there: on a cluster in a pipeline led by a
   * command on the mailbox's key. Replication stays asynchronous: this narrows what a failover can
   * lose to messages not yet acknowledged, it does not make a master's crash lossless.
   */
  private async confirmReplicas(inboxKey: string): Promise<void> {
    const wait = this.options.wait;
    if (wait === undefined || wait.replicas <= 0) return;
    const replies = await redisCall(
      this.client.pipeline().exists(inboxKey).call('WAIT', wait.replicas, wait.timeoutMs).exec(),
    );
    const [keyReply, waitReply] = replies ?? [];
    // exec() resolves with each command's own failure (a command timeout while a master is down,
    // say): map it as redisCall would. A failed lead command means WAIT may have run on another
    // node (a slot map gone stale in a failover: MOVED), where it says nothing of this write.
    const [keyError] = keyReply ?? [new Error('no reply to EXISTS')];
    if (keyError)
      throw new StoreUnavailableError('Redis could not confirm the write', { cause: keyError });
    const [waitError, acknowledged] = waitReply ?? [new Error('no reply to WAIT'), 0];
    if (waitError) throw toStoreError(waitError);
    if (typeof acknowledged !== 'number' || acknowledged < wait.replicas) {
      throw new StoreUnavailableError(
        `stored, but ${String(acknowledged)} of ${String(wait.replicas)} replicas confirmed it within ${String(wait.timeoutMs)} ms`,
      );
    }
  }

  async read(agentId: string, after: string, limit: number): Promise<StoredMessage[]> {
    if (!MESSAGE_ID_PATTERN.test(after)) throw new RangeError('read: `after` must be a message id');
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError('read: `limit` must be a positive integer');
    const reply = await redisCall(
      this.client.ddRead(mailboxKeys(agentId).inbox, after, limit, this.ttlMs),
    );
    return parseEntries(reply, this.options.ttlSeconds);
  }

  async counts(agentId: string): Promise<MailboxCounts> {
    const keys = mailboxKeys(agentId);
    return parseCountsReply(
      await redisCall(this.client.ddCounts(keys.inbox, keys.agent, this.ttlMs)),
    );
  }

  async delete(agentId: string, ids: readonly string[]): Promise<number> {
    // An id of another shape cannot exist; leaving it out keeps XRANGE from rejecting the script.
    const valid = [...new Set(ids)].filter((id) => MESSAGE_ID_PATTERN.test(id));
    if (valid.length === 0) return 0;
    const keys = mailboxKeys(agentId);
    const reply = await redisCall(
      this.client.ddDelete(keys.inbox, keys.agent, this.ttlMs, ...valid),
    );
    return Number(reply);
  }

  async takeTokens(scope: string, name: string, rate: BucketRate, cost = 1): Promise<number> {
    if (isUnlimited(rate)) return 0;
    const reply = await redisCall(
      this.client.ddTake(
        addressBucketKey(scope, name),
        rate.capacity,
        rate.perMs,
        costWithin(cost, rate),
      ),
    );
    if (typeof reply !== 'number') throw new Error(`unexpected reply from take: ${String(reply)}`);
    return reply;
  }

  async useNonce(agentId: string, nonce: string, keepForMs: number): Promise<boolean> {
    // PX counts from when Redis runs the SET, so a slow round trip only keeps the nonce longer.
    const ttlMs = Math.max(1, Math.ceil(keepForMs));
    const set = await redisCall(
      this.client.set(mailboxKeys(agentId).nonce(nonce), '1', 'PX', ttlMs, 'NX'),
    );
    return set === 'OK';
  }

  async sweepExpired(): Promise<number> {
    // SCAN walks one node's keyspace: on a cluster each master is walked in turn.
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    let removed = 0;
    for (const node of nodes) removed += await this.sweepNode(node);
    return removed;
  }

  private async sweepNode(node: Redis): Promise<number> {
    let removed = 0;
    let cursor = '0';
    // SCAN ends when the cursor comes back to 0; keys come back with the prefix, which the
    // scripts' KEYS add again, so it is stripped first.
    do {
      const [next, found] = await redisCall(
        node.scan(
          cursor,
          'MATCH',
          this.keyPrefix + INBOX_KEY_PATTERN,
          'COUNT',
          SCAN_BATCH,
          'TYPE',
          'stream',
        ),
      );
      cursor = next;
      // A few at a time, never a burst: the sweep shares the connection with live sends, and
      // thousands of queued trims would delay every one of them.
      for (let start = 0; start < found.length; start += SWEEP_CONCURRENCY) {
        const trimmed = await Promise.all(
          found
            .slice(start, start + SWEEP_CONCURRENCY)
            .map((key) => this.trimInbox(key.slice(this.keyPrefix.length))),
        );
        removed += trimmed.reduce((sum, count) => sum + count, 0);
      }
    } while (cursor !== '0');
    return removed;
  }

  watch(agentId: string, listener: WakeListener): () => void {
    return this.notifications.watch(this.keyPrefix + mailboxKeys(agentId).notify, listener);
  }

  async ping(): Promise<void> {
    await redisCall(this.client.ping());
  }

  async close(): Promise<void> {
    this.notifications.close();
    if (!this.ownership.ownsClient) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private async trimInbox(inboxKey: string): Promise<number> {
    const agentId = agentIdFromInboxKey(inboxKey);
    if (agentId === null) return 0;
    const keys = mailboxKeys(agentId);
    return Number(await redisCall(this.client.ddTrim(keys.inbox, keys.agent, this.ttlMs)));
  }
}
