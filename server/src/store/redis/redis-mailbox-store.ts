// MailboxStore on Redis Streams (PROTOCOL §4): every atomic step is one Lua script (scripts.ts),
// every key comes from keys.ts, wake-ups share one subscriber connection (notify-subscriber.ts).
// Connecting is redis-connection.ts, the replica WAIT replica-wait.ts, the TTL sweep ttl-sweep.ts.
import {
  ROTATIONS_MAX,
  type AgentRecord,
  type DirectoryRecord,
  type RotationStep,
  type StoredMessage,
} from '@deaddrop/contract';
import { Cluster } from 'ioredis';
import { costWithin, isUnlimited, UNLIMITED, type BucketRate } from '../../limits/token-bucket.js';
import type {
  AppendInput,
  AppendRate,
  AppendOutcome,
  FreshMessage,
  ClaimedPrekey,
  HookDelivery,
  HookRecord,
  MailboxCounts,
  MailboxStore,
  NonceOutcome,
  RegisterOutcome,
  RotateOutcome,
  StoreOptions,
  PublishPrekeysOutcome,
  StoredHook,
  StoredPrekey,
  WakeListener,
} from '../mailbox-store.js';
import { assertReadArguments, deletableIds } from '../store-arguments.js';
import { assertValidStoreOptions } from '../store-options.js';
import { letWokenReadersAnswerFirst } from '../wake-listener.js';
import {
  RELAY_ID_KEY,
  addressBucketKey,
  agentIdFromInboxKey,
  assertValidKeyPrefix,
  mailboxKeys,
} from './keys.js';
import { NotifySubscriber } from './notify-subscriber.js';
import { classicPubSub, shardedPubSub } from './pubsub-connection.js';
import {
  keyPrefixOf,
  lastConnectionError,
  openCluster,
  openRedis,
  shardSubscriberCluster,
  type ClusterSeed,
  type RedisConnection,
} from './redis-connection.js';
import { confirmReplicas, type ReplicaWait } from './replica-wait.js';
import {
  parseAppendReply,
  parseCountsReply,
  parseEntries,
  formatPrekeyEntry,
  parseClaimPrekeyReply,
  parseHookReply,
  parsePublishPrekeysReply,
  parseNonceReply,
  parseRegisterReply,
  parseRotateReply,
  parseRotations,
} from './replies.js';
import { defineMailboxScripts, type MailboxScripts } from './scripts.js';
import { sweepInboxes } from './ttl-sweep.js';
import { redisCall } from './unavailable.js';

export { FAIL_FAST_REDIS_OPTIONS } from './redis-connection.js';
export type { ClusterSeed, RedisConnection } from './redis-connection.js';
export type { ReplicaWait } from './replica-wait.js';

const NO_APPEND_RATE: AppendRate = { source: '', mailbox: UNLIMITED, sender: UNLIMITED };

export interface RedisStoreConfig extends StoreOptions {
  /** Prepended to every key and channel (ioredis `keyPrefix`), e.g. to isolate a test run. */
  readonly keyPrefix?: string;
  /** Replicas a send waits for before it is acknowledged (0: none). */
  readonly wait?: ReplicaWait;
}

export class RedisMailboxStore implements MailboxStore {
  readonly kind = 'redis';
  private readonly client: RedisConnection & MailboxScripts;
  private readonly keyPrefix: string;
  private readonly ttlMs: number;
  private readonly notifications: NotifySubscriber;

  /** Opens a client with the fail-fast options; the store owns it and closes it. */
  static connect(url: string, config: RedisStoreConfig): RedisMailboxStore {
    return new RedisMailboxStore(openRedis(url, config.keyPrefix ?? ''), config, {
      ownsClient: true,
    });
  }

  /**
   * Opens a Redis Cluster client from a few seed nodes (the rest are discovered), with sharded
   * pub/sub for notifications; the store owns it and closes it.
   */
  static connectCluster(
    seeds: readonly ClusterSeed[],
    config: RedisStoreConfig,
  ): RedisMailboxStore {
    return new RedisMailboxStore(openCluster(seeds, config.keyPrefix ?? ''), config, {
      ownsClient: true,
    });
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
    this.keyPrefix = keyPrefixOf(client);
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

  async lookup(agentId: string): Promise<DirectoryRecord | null> {
    const keys = mailboxKeys(agentId);
    // MULTI (both keys in the mailbox's slot): the key and its history as of one moment, never a
    // key with the history of before its rotation.
    const replies = await redisCall(
      this.client
        .multi()
        .hmget(keys.agent, 'key', 'registeredAt')
        .lrange(keys.rotations, 0, -1)
        .exec(),
    );
    const [record, history] = replies ?? [];
    if (record === undefined || history === undefined || record[0] !== null || history[0] !== null)
      throw new Error(`lookup of ${agentId} failed: ${String(record?.[0] ?? history?.[0])}`);
    const [agentKey, registeredAt] = (record[1] ?? []) as (string | null)[];
    if (agentKey == null || registeredAt == null) return null;
    return {
      agentId,
      agentKey,
      registeredAt: Number(registeredAt),
      rotations: parseRotations(history[1]),
    };
  }

  async rotate(agentId: string, step: RotationStep): Promise<RotateOutcome> {
    const keys = mailboxKeys(agentId);
    const { oldKey, newKey, ts, sigOld, sigNew } = step;
    const reply = await redisCall(
      this.client.ddRotate(
        keys.agent,
        keys.rotations,
        keys.prekeys,
        oldKey,
        newKey,
        JSON.stringify({ oldKey, newKey, ts, sigOld, sigNew }),
        ROTATIONS_MAX,
      ),
    );
    return parseRotateReply(reply);
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
          keys.hook,
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
      const wait = this.options.wait;
      if ((outcome.status === 'stored' || outcome.status === 'duplicate') && wait !== undefined)
        if (wait.replicas > 0) await confirmReplicas(this.client, keys.inbox, wait);
      return outcome;
    } finally {
      if (appended(fresh)) await letWokenReadersAnswerFirst();
    }
  }

  async read(agentId: string, after: string, limit: number): Promise<StoredMessage[]> {
    assertReadArguments(after, limit);
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
    const valid = deletableIds(ids);
    if (valid.length === 0) return 0;
    const keys = mailboxKeys(agentId);
    const reply = await redisCall(
      this.client.ddDelete(keys.inbox, keys.agent, this.ttlMs, ...valid),
    );
    return Number(reply);
  }

  async publishPrekeys(
    agentId: string,
    prekeys: readonly StoredPrekey[],
    max: number,
    agentKey: string,
  ): Promise<PublishPrekeysOutcome> {
    const keys = mailboxKeys(agentId);
    const reply = await redisCall(
      this.client.ddPublishPrekeys(
        keys.agent,
        keys.prekeys,
        agentKey,
        max,
        ...prekeys.map(formatPrekeyEntry),
      ),
    );
    return parsePublishPrekeysReply(reply);
  }

  async claimPrekey(agentId: string): Promise<ClaimedPrekey | null> {
    const keys = mailboxKeys(agentId);
    const reply = await redisCall(this.client.ddClaimPrekey(keys.agent, keys.prekeys));
    return parseClaimPrekeyReply(reply);
  }

  prekeyCount(agentId: string): Promise<number> {
    return redisCall(this.client.llen(mailboxKeys(agentId).prekeys));
  }

  async setHook(agentId: string, hook: HookRecord): Promise<boolean> {
    const keys = mailboxKeys(agentId);
    const reply = await redisCall(
      this.client.ddSetHook(keys.agent, keys.hook, hook.url, hook.secret, hook.createdAt),
    );
    return reply === 1;
  }

  async getHook(agentId: string): Promise<StoredHook | null> {
    const fields = await redisCall(this.client.hgetall(mailboxKeys(agentId).hook));
    // ioredis answers HGETALL as an object; the parser takes the reply's `[field, value, …]` form.
    return parseHookReply(Object.entries(fields).flat());
  }

  async clearHook(agentId: string): Promise<boolean> {
    return (await redisCall(this.client.del(mailboxKeys(agentId).hook))) === 1;
  }

  async recordHookDelivery(agentId: string, delivery: HookDelivery): Promise<StoredHook | null> {
    const reply = await redisCall(
      this.client.ddHookDelivery(
        mailboxKeys(agentId).hook,
        delivery.createdAt,
        delivery.at,
        delivery.status ?? '',
        delivery.delivered ? '1' : '0',
        delivery.failureCap,
      ),
    );
    return parseHookReply(reply);
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

  async useNonce(
    agentId: string,
    nonce: string,
    keepForMs: number,
    agentKey: string,
  ): Promise<NonceOutcome> {
    // PX counts from when Redis runs the SET, so a slow round trip only keeps the nonce longer.
    const ttlMs = Math.max(1, Math.ceil(keepForMs));
    const keys = mailboxKeys(agentId);
    const reply = await redisCall(
      this.client.ddUseNonce(keys.agent, keys.nonce(nonce), agentKey, ttlMs),
    );
    return parseNonceReply(reply);
  }

  sweepExpired(): Promise<number> {
    return sweepInboxes(this.client, this.keyPrefix, (inboxKey) => this.trimInbox(inboxKey));
  }

  watch(agentId: string, listener: WakeListener): () => void {
    return this.notifications.watch(this.keyPrefix + mailboxKeys(agentId).notify, listener);
  }

  unreachableBecause(): string | undefined {
    return lastConnectionError(this.client)?.message;
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
