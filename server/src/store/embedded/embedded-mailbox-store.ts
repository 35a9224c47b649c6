// MailboxStore in one SQLite file for relays without Redis (PROTOCOL §4): same semantics as the
// Redis driver, each atomic step one immediate transaction, wake-ups through an in-process emitter.
import { EventEmitter } from 'node:events';
import { MESSAGE_ID_PATTERN, type AgentRecord, type StoredMessage } from '@deaddrop/contract';
import type Database from 'better-sqlite3';
import {
  StoreUnavailableError,
  type AppendInput,
  type AppendOutcome,
  type MailboxCounts,
  type MailboxStore,
  type RegisterOutcome,
  type StoreOptions,
  type WakeListener,
} from '../mailbox-store.js';
import { messageTimes } from '../message-times.js';
import { assertValidStoreOptions } from '../store-options.js';
import { callWakeListener } from '../wake-listener.js';
import { openDatabase } from './database.js';
import { prepareStatements, type Cursor, type IdRow, type Statements } from './statements.js';

const RELAY_ID = 'relay-id';

/** SQLite failures that mean "try again later" (another process holds the lock, disk trouble). */
const TRANSIENT_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/;

/** Namespaced: an agent may be called `error`, which EventEmitter would treat as an error event. */
function wakeEvent(agentId: string): string {
  return `mailbox:${agentId}`;
}

function formatId(row: IdRow): string {
  return `${row.ms}-${row.seq}`;
}

function parseCursor(id: string): Cursor {
  const [ms = '0', seq = '0'] = id.split('-');
  return { ms: BigInt(ms), seq: BigInt(seq) };
}

export class EmbeddedMailboxStore implements MailboxStore {
  readonly kind = 'embedded';
  private readonly db: Database.Database;
  private readonly sql: Statements;
  private readonly ttlMs: number;
  // One event per mailbox; every waiting long-poll is a listener, so there is no useful cap.
  private readonly wakeups = new EventEmitter().setMaxListeners(0);

  /** Opens (creating if needed) the store file under `dataDir`. */
  static open(dataDir: string, options: StoreOptions): EmbeddedMailboxStore {
    assertValidStoreOptions(options);
    return new EmbeddedMailboxStore(openDatabase(dataDir), options);
  }

  private constructor(
    db: Database.Database,
    private readonly options: StoreOptions,
  ) {
    this.db = db;
    this.sql = prepareStatements(db);
    this.ttlMs = options.ttlSeconds * 1000;
  }

  ensureRelayId(candidate: string): Promise<string> {
    return this.run(() =>
      this.db
        .transaction(() => {
          this.sql.insertMetaOnce.run(RELAY_ID, candidate);
          return this.sql.getMeta.get(RELAY_ID)?.value ?? candidate;
        })
        .immediate(),
    );
  }

  register(record: AgentRecord): Promise<RegisterOutcome> {
    return this.run(() =>
      this.db
        .transaction((): RegisterOutcome => {
          const existing = this.sql.getAgent.get(record.agentId);
          if (existing === undefined) {
            this.sql.insertAgent.run(record.agentId, record.agentKey, record.registeredAt);
            return { status: 'created', record };
          }
          const stored = {
            agentId: record.agentId,
            agentKey: existing.agent_key,
            registeredAt: existing.registered_at,
          };
          return {
            status: stored.agentKey === record.agentKey ? 'existing' : 'conflict',
            record: stored,
          };
        })
        .immediate(),
    );
  }

  lookup(agentId: string): Promise<AgentRecord | null> {
    return this.run(() => {
      const row = this.sql.getAgent.get(agentId);
      return row ? { agentId, agentKey: row.agent_key, registeredAt: row.registered_at } : null;
    });
  }

  async append(input: AppendInput): Promise<AppendOutcome> {
    const outcome = await this.run(() =>
      this.db.transaction(() => this.appendNow(input, Date.now())).immediate(),
    );
    // After COMMIT, so a woken reader finds the message.
    if (outcome.status === 'stored') this.wakeups.emit(wakeEvent(input.agentId));
    return outcome;
  }

  read(agentId: string, after: string, limit: number): Promise<StoredMessage[]> {
    if (!MESSAGE_ID_PATTERN.test(after))
      return Promise.reject(new RangeError('read: `after` must be a message id'));
    if (!Number.isSafeInteger(limit) || limit < 1) {
      return Promise.reject(new RangeError('read: `limit` must be a positive integer'));
    }
    const cursor = parseCursor(after);
    return this.run(() =>
      this.sql.readAfter
        .all(agentId, cursor.ms, cursor.seq, this.oldestLiveMs(Date.now()), limit)
        .map((row) => ({
          ...messageTimes(formatId(row), this.options.ttlSeconds),
          ciphertext: row.ciphertext,
        })),
    );
  }

  counts(agentId: string): Promise<MailboxCounts> {
    return this.run(() =>
      this.db
        .transaction((): MailboxCounts => {
          this.sql.trimMailbox.run(agentId, this.oldestLiveMs(Date.now()));
          const { count, bytes } = this.sql.countMailbox.get(agentId) ?? { count: 0, bytes: 0 };
          const oldest = this.sql.oldestId.get(agentId);
          const newest = this.sql.newestId.get(agentId);
          return {
            count,
            bytes,
            oldestId: oldest ? formatId(oldest) : null,
            newestId: newest ? formatId(newest) : null,
          };
        })
        .immediate(),
    );
  }

  delete(agentId: string, ids: readonly string[]): Promise<number> {
    const cursors = [...new Set(ids)].filter((id) => MESSAGE_ID_PATTERN.test(id)).map(parseCursor);
    return this.run(() =>
      this.db
        .transaction(() => {
          // Expired messages are gone already as far as callers can tell, so they do not count.
          this.sql.trimMailbox.run(agentId, this.oldestLiveMs(Date.now()));
          let deleted = 0;
          for (const { ms, seq } of cursors)
            deleted += this.sql.deleteMessage.run(agentId, ms, seq).changes;
          return deleted;
        })
        .immediate(),
    );
  }

  useNonce(agentId: string, nonce: string, expiresAt: number): Promise<boolean> {
    return this.run(
      () => this.sql.useNonce.run(agentId, nonce, expiresAt, Date.now()).changes === 1,
    );
  }

  sweepExpired(): Promise<number> {
    return this.run(() =>
      this.db
        .transaction(() => {
          const now = Date.now();
          this.sql.dropExpiredNonces.run(now);
          this.sql.dropExpiredIdempotency.run(now);
          return this.sql.trimAll.run(this.oldestLiveMs(now)).changes;
        })
        .immediate(),
    );
  }

  watch(agentId: string, listener: WakeListener): () => void {
    const wake = () => {
      callWakeListener(listener);
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
    return this.run(() => {
      this.db.prepare('SELECT 1').get();
    });
  }

  close(): Promise<void> {
    this.wakeups.removeAllListeners();
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }

  /** The body of `append`, inside its transaction. */
  private appendNow(input: AppendInput, now: number): AppendOutcome {
    const agent = this.sql.getAgent.get(input.agentId);
    if (agent === undefined) return { status: 'no-mailbox' };

    const previous = this.sql.getIdempotency.get(input.agentId, input.idempotencyKey, now);
    if (previous !== undefined) {
      return previous.hash === input.ciphertextHash
        ? { status: 'duplicate', ...messageTimes(previous.message_id, this.options.ttlSeconds) }
        : { status: 'conflict' };
    }

    this.sql.trimMailbox.run(input.agentId, this.oldestLiveMs(now));
    const count = this.sql.countMailbox.get(input.agentId)?.count ?? 0;
    if (count >= this.options.maxMessages) return { status: 'full', count };

    // As Redis XADD `*` does: the clock's ms, or the last ms with the next sequence number when
    // the clock has not moved on (or went back).
    const id =
      now > agent.last_ms ? { ms: now, seq: 0 } : { ms: agent.last_ms, seq: agent.last_seq + 1 };
    const messageId = formatId(id);
    this.sql.insertMessage.run(input.agentId, id.ms, id.seq, input.bytes, input.ciphertext);
    this.sql.setLastId.run(id.ms, id.seq, input.agentId);
    this.sql.putIdempotency.run(
      input.agentId,
      input.idempotencyKey,
      input.ciphertextHash,
      messageId,
      now + this.ttlMs,
    );
    return { status: 'stored', ...messageTimes(messageId, this.options.ttlSeconds) };
  }

  /** Messages with a smaller ms part have expired (expiresAt = ms + ttl ≤ now). */
  private oldestLiveMs(now: number): number {
    return now - this.ttlMs + 1;
  }

  /** Runs synchronous SQLite work as the interface's promise, mapping transient failures. */
  private run<T>(work: () => T): Promise<T> {
    try {
      if (!this.db.open) throw new StoreUnavailableError('embedded store is closed');
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(toStoreError(error));
    }
  }
}

function toStoreError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const code = 'code' in error ? String(error.code) : '';
  return TRANSIENT_CODES.test(code)
    ? new StoreUnavailableError('embedded store is unavailable', { cause: error })
    : error;
}
