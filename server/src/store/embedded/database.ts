// Opens the embedded store's SQLite file (PROTOCOL §4): a 0700 folder, a 0600 file, WAL with
// synchronous=FULL so a committed append is on disk before it is acknowledged, schema migrations.
// Two connections per store: a read-only one on the main thread, the writing one in the writer
// thread; WAL lets the reader see each commit without waiting for the writer.
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const DATABASE_FILE = 'deaddrop.sqlite';

/**
 * Ids are `(ms, seq)` integer pairs; `agents.last_ms/last_seq` remember the last id handed out so
 * ids never go back, even after a mailbox empties. `bytes` precedes `ciphertext` so sums do not
 * walk a large ciphertext's overflow pages.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    agent_key TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    last_ms INTEGER NOT NULL DEFAULT 0,
    last_seq INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE TABLE messages (
    agent_id TEXT NOT NULL,
    ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    ciphertext TEXT NOT NULL,
    PRIMARY KEY (agent_id, ms, seq)
  ) STRICT;
  CREATE INDEX messages_by_time ON messages (ms);
  CREATE TABLE idempotency (
    agent_id TEXT NOT NULL,
    key TEXT NOT NULL,
    hash TEXT NOT NULL,
    message_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);
  CREATE TABLE nonces (
    agent_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, nonce)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX nonces_by_expiry ON nonces (expires_at);
  `,
  // v1.1: a mailbox's wake-up webhook (PROTOCOL §9); goes with its agent.
  `
  CREATE TABLE hooks (
    agent_id TEXT PRIMARY KEY REFERENCES agents (agent_id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_delivery_at INTEGER,
    last_status INTEGER,
    failures INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  `,
  // v1.1: one-time prekeys (PROTOCOL §10), oldest first by `position`; an id or key once per agent.
  `
  CREATE TABLE prekeys (
    position INTEGER PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
    prekey_id TEXT NOT NULL,
    prekey_key TEXT NOT NULL,
    sig TEXT NOT NULL,
    UNIQUE (agent_id, prekey_id),
    UNIQUE (agent_id, prekey_key)
  ) STRICT;
  CREATE INDEX prekeys_by_agent ON prekeys (agent_id, position);
  `,
  // v1.1: an agent's signed key rotations (PROTOCOL §10), oldest first by position; the last 16.
  `
  CREATE TABLE rotations (
    agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    old_key TEXT NOT NULL,
    new_key TEXT NOT NULL,
    ts INTEGER NOT NULL,
    sig_old TEXT NOT NULL,
    sig_new TEXT NOT NULL,
    PRIMARY KEY (agent_id, position)
  ) STRICT, WITHOUT ROWID;
  `,
  // Each mailbox's stored messages counted, kept by every write that adds or removes one, so an
  // append checks its quota without a COUNT(*), which walks every row of the mailbox on the one
  // writer thread (0.5 ms at the default quota of 10,000 messages).
  `
  ALTER TABLE agents ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
  UPDATE agents SET message_count =
    (SELECT COUNT(*) FROM messages WHERE messages.agent_id = agents.agent_id);
  `,
];

/**
 * Prepares the folder and file, migrates the schema, and returns the main thread's connection,
 * made read-only: every write goes through the writer thread's connection.
 */
export function openReadConnection(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, DATABASE_FILE);
  // Create the file 0600 before SQLite does (it would use the umask); SQLite gives its -wal and
  // -shm files the database file's mode.
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);

  return connect(path, (db) => {
    migrate(db);
    db.pragma('query_only = ON');
  });
}

/** The writer thread's connection, to a file `openReadConnection` has already prepared. */
export function openWriteConnection(dataDir: string): Database.Database {
  return connect(join(dataDir, DATABASE_FILE), () => undefined);
}

function connect(path: string, setUp: (db: Database.Database) => void): Database.Database {
  // `timeout`: how long a write waits for another process's lock before SQLITE_BUSY.
  const db = new Database(path, { timeout: 2_000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // Deleted and expired ciphertext is overwritten in the file rather than left in free pages.
    db.pragma('secure_delete = ON');
    setUp(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = Number(db.pragma('user_version', { simple: true }));
    // A newer relay wrote this file: this one would set the version back and write without the
    // newer schema's bookkeeping (a message count, say), and the newer relay, reopening it, would
    // run its migrations again. Refused, the file untouched.
    if (version > MIGRATIONS.length)
      throw new Error(
        `the data file's schema is version ${version}, newer than this relay's ${MIGRATIONS.length}: ` +
          'a newer relay wrote it; run that version or newer',
      );
    for (const [index, sql] of MIGRATIONS.entries()) {
      if (index < version) continue;
      db.exec(sql);
    }
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
