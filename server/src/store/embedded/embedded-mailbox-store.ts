// MailboxStore in one SQLite file for relays without Redis (PROTOCOL §4): same semantics as the
// Redis driver. Writes go to a writer thread that commits them in groups (one fsync per group, off
// the event loop); reads run here on a read-only connection; wake-ups through an in-process emitter.
import { EventEmitter } from 'node:events';
import type { AgentRecord, DirectoryRecord, RotationStep, StoredMessage } from '@deaddrop/contract';
import type Database from 'better-sqlite3';
import { MemoryBuckets, type BucketRate } from '../../limits/token-bucket.js';
import {
  StoreUnavailableError,
  type AppendInput,
  type AppendOutcome,
  type ClaimedPrekey,
  type FreshMessage,
  type HookDelivery,
  type HookRecord,
  type MailboxCounts,
  type MailboxStore,
  type PublishPrekeysOutcome,
  type NonceOutcome,
  type RegisterOutcome,
  type RotateOutcome,
  type StoreOptions,
  type StoredHook,
  type StoredPrekey,
  type WakeListener,
} from '../mailbox-store.js';
import { messageTimes } from '../message-times.js';
import { assertReadArguments, deletableIds } from '../store-arguments.js';
import { assertValidStoreOptions } from '../store-options.js';
import { callWakeListener, letWokenReadersAnswerFirst } from '../wake-listener.js';
import { openReadConnection } from './database.js';
import { GroupCommitWriter, type WriterStats } from './group-commit.js';
import { formatId, oldestLiveMs, parseCursor } from './message-ids.js';
import { preparePrekeyCount } from './prekey-writes.js';
import {
  hookFromRow,
  prepareReadStatements,
  rotationFromRow,
  type ReadStatements,
} from './statements.js';
import { toStoreError } from './store-errors.js';

/** Namespaced: an agent may be called `error`, which EventEmitter would treat as an error event. */
function wakeEvent(agentId: string): string {
  return `mailbox:${agentId}`;
}

export class EmbeddedMailboxStore implements MailboxStore {
  readonly kind = 'embedded';
  private readonly sql: ReadStatements;
  private readonly countPrekeys: ReturnType<typeof preparePrekeyCount>;
  private readonly ttlMs: number;
  // One event per mailbox; every waiting long-poll is a listener, so there is no useful cap.
  private readonly wakeups = new EventEmitter().setMaxListeners(0);
  private closing: Promise<void> | undefined;
  // One process serves an embedded store, so its address buckets live in this process's memory.
  private readonly buckets = new MemoryBuckets();

  /** Opens (creating if needed) the store file under `dataDir`, and starts its writer thread. */
  static open(dataDir: string, options: StoreOptions): EmbeddedMailboxStore {
    assertValidStoreOptions(options);
    // First, so the schema exists before the writer thread connects.
    const db = openReadConnection(dataDir);
    try {
      return new EmbeddedMailboxStore(db, new GroupCommitWriter(dataDir, options), options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private constructor(
    private readonly db: Database.Database,
    private readonly writer: GroupCommitWriter,
    private readonly options: StoreOptions,
  ) {
    this.sql = prepareReadStatements(db);
    this.countPrekeys = preparePrekeyCount(db);
    this.ttlMs = options.ttlSeconds * 1000;
  }

  ensureRelayId(candidate: string): Promise<string> {
    return this.writer.submit({ kind: 'ensure-relay-id', candidate });
  }

  register(record: AgentRecord): Promise<RegisterOutcome> {
    return this.writer.submit({ kind: 'register', record });
  }

  lookup(agentId: string): Promise<DirectoryRecord | null> {
    // One read transaction: the key and its history as of one commit.
    return this.runRead(() =>
      this.db.transaction((): DirectoryRecord | null => {
        const row = this.sql.getAgent.get(agentId);
        if (row === undefined) return null;
        return {
          agentId,
          agentKey: row.agent_key,
          registeredAt: row.registered_at,
          rotations: this.sql.listRotations.all(agentId).map(rotationFromRow),
        };
      })(),
    );
  }

  rotate(agentId: string, step: RotationStep): Promise<RotateOutcome> {
    return this.writer.submit({ kind: 'rotate', agentId, step });
  }

  async append(input: AppendInput): Promise<AppendOutcome> {
    const { outcome, after } = await this.writer.submit({ kind: 'append', input });
    // After COMMIT, so a reader that reads instead finds the message too.
    if (outcome.status === 'stored' && after !== undefined) {
      const { id, receivedAt, expiresAt } = outcome;
      const fresh: FreshMessage = {
        after,
        message: { id, ciphertext: input.ciphertext, receivedAt, expiresAt },
      };
      if (this.wakeups.emit(wakeEvent(input.agentId), fresh)) await letWokenReadersAnswerFirst();
    }
    return outcome;
  }

  async read(agentId: string, after: string, limit: number): Promise<StoredMessage[]> {
    assertReadArguments(after, limit);
    const cursor = parseCursor(after);
    return await this.runRead(() =>
      this.sql.readAfter
        .all(agentId, cursor.ms, cursor.seq, this.oldestLiveMs(), limit)
        .map((row) => ({
          ...messageTimes(formatId(row), this.options.ttlSeconds),
          ciphertext: row.ciphertext,
        })),
    );
  }

  async counts(agentId: string): Promise<MailboxCounts> {
    // As the Redis driver does, counting drops the mailbox's expired messages; only when there are
    // some, so the usual count costs no write.
    const expired = await this.runRead(
      () => this.sql.hasExpired.get(agentId, this.oldestLiveMs())?.expired === 1,
    );
    if (expired) await this.writer.submit({ kind: 'trim-mailbox', agentId });
    return this.runRead(() =>
      this.db
        .transaction((): MailboxCounts => {
          const oldestLive = this.oldestLiveMs();
          const { count, bytes } = this.sql.countLive.get(agentId, oldestLive) ?? {
            count: 0,
            bytes: 0,
          };
          const oldest = this.sql.oldestLiveId.get(agentId, oldestLive);
          const newest = this.sql.newestLiveId.get(agentId, oldestLive);
          return {
            count,
            bytes,
            oldestId: oldest ? formatId(oldest) : null,
            newestId: newest ? formatId(newest) : null,
          };
        })
        .deferred(),
    );
  }

  delete(agentId: string, ids: readonly string[]): Promise<number> {
    const cursors = deletableIds(ids).map(parseCursor);
    return this.writer.submit({ kind: 'delete', agentId, cursors });
  }

  setHook(agentId: string, hook: HookRecord): Promise<boolean> {
    return this.writer.submit({ kind: 'set-hook', agentId, hook });
  }

  getHook(agentId: string): Promise<StoredHook | null> {
    return this.runRead(() => {
      const row = this.sql.getHook.get(agentId);
      return row ? hookFromRow(row) : null;
    });
  }

  clearHook(agentId: string): Promise<boolean> {
    return this.writer.submit({ kind: 'clear-hook', agentId });
  }

  recordHookDelivery(agentId: string, delivery: HookDelivery): Promise<StoredHook | null> {
    return this.writer.submit({ kind: 'hook-delivery', agentId, delivery });
  }

  publishPrekeys(
    agentId: string,
    prekeys: readonly StoredPrekey[],
    max: number,
    agentKey: string,
  ): Promise<PublishPrekeysOutcome> {
    return this.writer.submit({ kind: 'publish-prekeys', agentId, prekeys, max, agentKey });
  }

  claimPrekey(agentId: string): Promise<ClaimedPrekey | null> {
    return this.writer.submit({ kind: 'claim-prekey', agentId });
  }

  prekeyCount(agentId: string): Promise<number> {
    return this.runRead(() => this.countPrekeys.get(agentId)?.n ?? 0);
  }

  takeTokens(scope: string, name: string, rate: BucketRate, cost = 1): Promise<number> {
    return Promise.resolve(this.buckets.take(`${name} ${scope}`, rate, Date.now(), cost));
  }

  useNonce(
    agentId: string,
    nonce: string,
    keepForMs: number,
    agentKey: string,
  ): Promise<NonceOutcome> {
    return this.writer.submit({ kind: 'use-nonce', agentId, nonce, agentKey, keepForMs });
  }

  sweepExpired(): Promise<number> {
    return this.writer.submit({ kind: 'sweep' });
  }

  watch(agentId: string, listener: WakeListener): () => void {
    const wake = (fresh?: FreshMessage) => {
      callWakeListener(listener, fresh);
    };
    const event = wakeEvent(agentId);
    this.wakeups.on(event, wake);
    // Live at once; this first wake-up matches the Redis driver's "channel is live" one.
    queueMicrotask(() => {
      if (this.wakeups.listeners(event).includes(wake)) wake();
    });
    return () => {
      this.wakeups.off(event, wake);
    };
  }

  ping(): Promise<void> {
    return this.runRead(() => {
      // A dead writer thread makes every write fail, so the store is not ready.
      const failure = this.writer.failure;
      if (failure !== undefined) throw failure;
      this.db.prepare('SELECT 1').get();
    });
  }

  /** Counts for tests and benchmarks: how many writes shared how many commits. */
  stats(): WriterStats {
    return this.writer.stats();
  }

  /** Waits for the writes in flight to be committed and answered, then closes both connections. */
  close(): Promise<void> {
    this.wakeups.removeAllListeners();
    this.closing ??= this.writer.close().finally(() => {
      this.db.close();
    });
    return this.closing;
  }

  private oldestLiveMs(): number {
    return oldestLiveMs(Date.now(), this.ttlMs);
  }

  /** Runs a synchronous read as the interface's promise, mapping transient failures. */
  private runRead<T>(work: () => T): Promise<T> {
    try {
      if (this.closing !== undefined) throw new StoreUnavailableError('embedded store is closed');
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(toStoreError(error));
    }
  }
}
