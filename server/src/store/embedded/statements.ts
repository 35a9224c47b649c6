// The embedded store's SQL, prepared once per connection: the writer thread's statements and the
// main thread's read-only ones. Every `(ms, seq)` comparison uses row values, which SQLite orders
// the way Redis orders stream ids.
import type { RotationStep } from '@deaddrop/contract';
import type Database from 'better-sqlite3';
import type { StoredHook } from '../mailbox-store.js';

type Statement<Params extends unknown[], Row = unknown> = Database.Statement<Params, Row>;

export interface AgentRow {
  readonly agent_key: string;
  readonly registered_at: number;
  readonly last_ms: number;
  readonly last_seq: number;
  /** Messages stored in the mailbox, expired ones not yet trimmed included. */
  readonly message_count: number;
}

export interface RotationRow {
  readonly old_key: string;
  readonly new_key: string;
  readonly ts: number;
  readonly sig_old: string;
  readonly sig_new: string;
}

/** One rotation step to store, bound by name. */
export interface RotationParams {
  readonly agentId: string;
  readonly oldKey: string;
  readonly newKey: string;
  readonly ts: number;
  readonly sigOld: string;
  readonly sigNew: string;
}

export interface MessageRow {
  readonly ms: number;
  readonly seq: number;
  readonly ciphertext: string;
}

export interface IdRow {
  readonly ms: number;
  readonly seq: number;
}

export interface HookRow {
  readonly url: string;
  readonly secret: string;
  readonly created_at: number;
  readonly last_delivery_at: number | null;
  readonly last_status: number | null;
  readonly failures: number;
  readonly disabled: number;
}

/** One notice attempt, bound by name; `delivered` is 1 or 0. */
export interface HookAttemptParams {
  readonly agentId: string;
  readonly createdAt: number;
  readonly at: number;
  readonly status: number | null;
  readonly delivered: number;
  readonly cap: number;
}

/** `ms`/`seq` of a client-given cursor may exceed 2^53, so cursors bind as bigint. */
export interface Cursor {
  readonly ms: bigint;
  readonly seq: bigint;
}

/** The writer thread's statements, typed by their bind parameters and row shape. */
export interface WriteStatements {
  readonly getMeta: Statement<[string], { value: string }>;
  readonly insertMetaOnce: Statement<[string, string]>;
  readonly getAgent: Statement<[string], AgentRow>;
  readonly insertAgent: Statement<[string, string, number]>;
  /** Replaces the key only while it is the old one (the compare half of compare-and-set). */
  readonly replaceAgentKey: Statement<[RotationParams]>;
  readonly appendRotation: Statement<[RotationParams]>;
  /** Keeps the agent's newest `keep` rotations. */
  readonly trimRotations: Statement<[{ agentId: string; keep: number }]>;
  readonly deletePrekeys: Statement<[string]>;
  /** The appended message's id as the agent's last, and one more message counted. */
  readonly recordAppend: Statement<[number, number, string]>;
  /** `count` messages of the agent removed. */
  readonly uncountMessages: Statement<[number, string]>;
  /** Uncounts, agent by agent, the messages older than `before` (run before trimAll removes them). */
  readonly uncountExpired: Statement<[{ before: number }]>;
  readonly getIdempotency: Statement<
    [string, string, number],
    { hash: string; message_id: string }
  >;
  readonly putIdempotency: Statement<[string, string, string, string, number]>;
  readonly insertMessage: Statement<[string, number, number, number, string]>;
  readonly trimMailbox: Statement<[string, number]>;
  readonly trimAll: Statement<[number]>;
  readonly newestId: Statement<[string], IdRow>;
  readonly deleteMessage: Statement<[string, bigint, bigint]>;
  readonly useNonce: Statement<[string, string, number, number]>;
  readonly dropExpiredNonces: Statement<[number]>;
  readonly dropExpiredIdempotency: Statement<[number]>;
  readonly hasActiveHook: Statement<[string], { hooked: number }>;
  readonly putHook: Statement<[string, string, string, number]>;
  readonly getHook: Statement<[string], HookRow>;
  readonly deleteHook: Statement<[string]>;
  readonly recordHookAttempt: Statement<[HookAttemptParams]>;
}

/**
 * The main thread's statements. They filter by time themselves (the `ms >= ?` bound is the oldest
 * live ms) rather than rely on trimming, which only the writer does.
 */
export interface ReadStatements {
  readonly getAgent: Statement<[string], AgentRow>;
  readonly listRotations: Statement<[string], RotationRow>;
  readonly readAfter: Statement<[string, bigint, bigint, number, number], MessageRow>;
  readonly countLive: Statement<[string, number], { count: number; bytes: number }>;
  readonly oldestLiveId: Statement<[string, number], IdRow>;
  readonly newestLiveId: Statement<[string, number], IdRow>;
  readonly hasExpired: Statement<[string, number], { expired: number }>;
  readonly getHook: Statement<[string], HookRow>;
}

const GET_HOOK = `SELECT url, secret, created_at, last_delivery_at, last_status, failures, disabled
  FROM hooks WHERE agent_id = ?`;

const LIST_ROTATIONS = `SELECT old_key, new_key, ts, sig_old, sig_new FROM rotations
  WHERE agent_id = ? ORDER BY position`;

const GET_AGENT =
  'SELECT agent_key, registered_at, last_ms, last_seq, message_count FROM agents WHERE agent_id = ?';

export function prepareWriteStatements(db: Database.Database): WriteStatements {
  return {
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?'),
    insertMetaOnce: db.prepare<[string, string]>(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING',
    ),

    getAgent: db.prepare<[string], AgentRow>(GET_AGENT),
    insertAgent: db.prepare<[string, string, number]>(
      'INSERT INTO agents (agent_id, agent_key, registered_at) VALUES (?, ?, ?)',
    ),
    replaceAgentKey: db.prepare<[RotationParams]>(
      'UPDATE agents SET agent_key = @newKey WHERE agent_id = @agentId AND agent_key = @oldKey',
    ),
    appendRotation: db.prepare<[RotationParams]>(
      `INSERT INTO rotations (agent_id, position, old_key, new_key, ts, sig_old, sig_new)
       VALUES (@agentId,
         (SELECT COALESCE(MAX(position), 0) + 1 FROM rotations WHERE agent_id = @agentId),
         @oldKey, @newKey, @ts, @sigOld, @sigNew)`,
    ),
    trimRotations: db.prepare<[{ agentId: string; keep: number }]>(
      `DELETE FROM rotations WHERE agent_id = @agentId AND position <=
         (SELECT MAX(position) FROM rotations WHERE agent_id = @agentId) - @keep`,
    ),
    deletePrekeys: db.prepare<[string]>('DELETE FROM prekeys WHERE agent_id = ?'),
    recordAppend: db.prepare<[number, number, string]>(
      `UPDATE agents SET last_ms = ?, last_seq = ?, message_count = message_count + 1
       WHERE agent_id = ?`,
    ),
    uncountMessages: db.prepare<[number, string]>(
      'UPDATE agents SET message_count = message_count - ? WHERE agent_id = ?',
    ),
    // Only the agents with expired messages (messages_by_time), each counted on its own key range.
    uncountExpired: db.prepare<[{ before: number }]>(
      `UPDATE agents SET message_count = message_count -
         (SELECT COUNT(*) FROM messages WHERE messages.agent_id = agents.agent_id AND ms < @before)
       WHERE agent_id IN (SELECT agent_id FROM messages WHERE ms < @before)`,
    ),

    getIdempotency: db.prepare<[string, string, number], { hash: string; message_id: string }>(
      'SELECT hash, message_id FROM idempotency WHERE agent_id = ? AND key = ? AND expires_at > ?',
    ),
    putIdempotency: db.prepare<[string, string, string, string, number]>(
      'INSERT OR REPLACE INTO idempotency (agent_id, key, hash, message_id, expires_at) VALUES (?, ?, ?, ?, ?)',
    ),

    insertMessage: db.prepare<[string, number, number, number, string]>(
      'INSERT INTO messages (agent_id, ms, seq, bytes, ciphertext) VALUES (?, ?, ?, ?, ?)',
    ),
    trimMailbox: db.prepare<[string, number]>('DELETE FROM messages WHERE agent_id = ? AND ms < ?'),
    trimAll: db.prepare<[number]>('DELETE FROM messages WHERE ms < ?'),
    newestId: db.prepare<[string], IdRow>(
      'SELECT ms, seq FROM messages WHERE agent_id = ? ORDER BY ms DESC, seq DESC LIMIT 1',
    ),
    deleteMessage: db.prepare<[string, bigint, bigint]>(
      'DELETE FROM messages WHERE agent_id = ? AND ms = ? AND seq = ?',
    ),

    // A used nonce is refused until it expires, then may be recorded again.
    useNonce: db.prepare<[string, string, number, number]>(
      `INSERT INTO nonces (agent_id, nonce, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (agent_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
       WHERE nonces.expires_at <= ?`,
    ),
    dropExpiredNonces: db.prepare<[number]>('DELETE FROM nonces WHERE expires_at <= ?'),
    dropExpiredIdempotency: db.prepare<[number]>('DELETE FROM idempotency WHERE expires_at <= ?'),

    hasActiveHook: db.prepare<[string], { hooked: number }>(
      'SELECT EXISTS (SELECT 1 FROM hooks WHERE agent_id = ? AND disabled = 0) AS hooked',
    ),
    putHook: db.prepare<[string, string, string, number]>(
      'INSERT OR REPLACE INTO hooks (agent_id, url, secret, created_at) VALUES (?, ?, ?, ?)',
    ),
    getHook: db.prepare<[string], HookRow>(GET_HOOK),
    deleteHook: db.prepare<[string]>('DELETE FROM hooks WHERE agent_id = ?'),
    // delivered (1/0) resets or adds to `failures`; the cap disables; only the hook of that setting.
    recordHookAttempt: db.prepare<[HookAttemptParams]>(
      `UPDATE hooks SET last_delivery_at = @at, last_status = @status,
         failures = CASE WHEN @delivered = 1 THEN 0 ELSE failures + 1 END,
         disabled = CASE WHEN @delivered = 0 AND failures + 1 >= @cap THEN 1 ELSE disabled END
       WHERE agent_id = @agentId AND created_at = @createdAt`,
    ),
  };
}

export function prepareReadStatements(db: Database.Database): ReadStatements {
  return {
    getAgent: db.prepare<[string], AgentRow>(GET_AGENT),
    listRotations: db.prepare<[string], RotationRow>(LIST_ROTATIONS),
    readAfter: db.prepare<[string, bigint, bigint, number, number], MessageRow>(
      `SELECT ms, seq, ciphertext FROM messages
       WHERE agent_id = ? AND (ms, seq) > (?, ?) AND ms >= ?
       ORDER BY ms, seq LIMIT ?`,
    ),
    countLive: db.prepare<[string, number], { count: number; bytes: number }>(
      `SELECT COUNT(*) AS count, COALESCE(SUM(bytes), 0) AS bytes FROM messages
       WHERE agent_id = ? AND ms >= ?`,
    ),
    oldestLiveId: db.prepare<[string, number], IdRow>(
      'SELECT ms, seq FROM messages WHERE agent_id = ? AND ms >= ? ORDER BY ms, seq LIMIT 1',
    ),
    newestLiveId: db.prepare<[string, number], IdRow>(
      `SELECT ms, seq FROM messages WHERE agent_id = ? AND ms >= ?
       ORDER BY ms DESC, seq DESC LIMIT 1`,
    ),
    hasExpired: db.prepare<[string, number], { expired: number }>(
      'SELECT EXISTS (SELECT 1 FROM messages WHERE agent_id = ? AND ms < ?) AS expired',
    ),
    getHook: db.prepare<[string], HookRow>(GET_HOOK),
  };
}

/** A rotation row as the contract's step. */
export function rotationFromRow(row: RotationRow): RotationStep {
  return {
    oldKey: row.old_key,
    newKey: row.new_key,
    ts: row.ts,
    sigOld: row.sig_old,
    sigNew: row.sig_new,
  };
}

/** A hook row as the store's type. */
export function hookFromRow(row: HookRow): StoredHook {
  return {
    url: row.url,
    secret: row.secret,
    createdAt: row.created_at,
    lastDeliveryAt: row.last_delivery_at,
    lastStatus: row.last_status,
    failures: row.failures,
    disabled: row.disabled === 1,
  };
}
